/** A least-squares line y = intercept + slope · x, with the slope's standard error and R². */
export interface Fit {
  slope: number
  intercept: number
  /** standard error of the slope (NaN with fewer than three points) */
  slopeSe: number
  r2: number
}

export function linearFit(xs: number[], ys: number[]): Fit {
  const n = xs.length
  if (n < 2 || ys.length !== n) throw new Error(`linearFit needs two or more (x, y) pairs (got ${n} x and ${ys.length} y)`)
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    syy += (ys[i]! - my) ** 2
  }
  const slope = sxy / sxx
  const intercept = my - slope * mx
  const residual = ys.reduce((a, y, i) => a + (y - intercept - slope * xs[i]!) ** 2, 0)
  const slopeSe = n > 2 ? Math.sqrt(residual / (n - 2) / sxx) : NaN
  return { slope, intercept, slopeSe, r2: syy === 0 ? 1 : 1 - residual / syy }
}
