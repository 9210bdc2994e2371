import type { Ratio } from './report.ts'

/** Two-sided 95 % quantiles of Student's t for 1…30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08,
  2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]

/** t(0.975, df); beyond the table, the normal quantile with the first-order correction (within 0.1 % from 30 on). */
export function t975(df: number): number {
  if (df < 1) return NaN
  return T975[df - 1] ?? 1.96 * (1 + 2.4 / (4 * df))
}

/**
 * The ratio of paired measurements (ours[i] / base[i], measured back to back
 * in the same round): the geometric mean of the per-pair ratios and a 95 %
 * t-interval of their logarithms, back-transformed. Pairing takes out what
 * drifts between rounds on a shared machine (other load, a growing table);
 * logarithms make ×2 and ×½ symmetric. One pair gives no interval. A pair
 * without a positive, finite ratio (a side that measured nothing) is left out.
 */
export function pairedRatio(label: string, ours: number[], base: number[]): Ratio {
  if (ours.length !== base.length || ours.length === 0) throw new Error(`pairedRatio needs as many measurements on each side (${ours.length} vs ${base.length})`)
  const rounds = ours.map((x, i) => x / base[i]!).filter((r) => Number.isFinite(r) && r > 0)
  if (rounds.length === 0) return { label, value: NaN, rounds }
  const logs = rounds.map(Math.log)
  const n = logs.length
  const mean = logs.reduce((a, b) => a + b, 0) / n
  if (n < 2) return { label, value: Math.exp(mean), rounds }
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1))
  const half = (t975(n - 1) * sd) / Math.sqrt(n)
  return { label, value: Math.exp(mean), rounds, ci: { low: Math.exp(mean - half), high: Math.exp(mean + half) } }
}
