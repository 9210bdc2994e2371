import type { FastifyRequest } from 'fastify'

/**
 * Whether a browser's `Origin` may act here with the session cookie: one of
 * ALLOWED_ORIGINS, or, when none are set, the server's own origin (scheme and
 * Host as this request reached us).
 */
export function originAllowed(request: Pick<FastifyRequest, 'protocol' | 'host'>, origin: string, allowed: readonly string[]): boolean {
  const normalized = origin.replace(/\/$/, '')
  if (allowed.length) return allowed.includes(normalized)
  return normalized === `${request.protocol}://${request.host}`
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Why a write must be refused as coming from another site's page, or
 * undefined when it may go on. SameSite=Strict keeps the cookie from other
 * *sites*, but a page on another port of the same host is the same site: it
 * could post a form to sign the user out. Browsers say where a request comes
 * from (`Origin` on every POST, `Sec-Fetch-Site` on everything), so a write
 * whose page is not ours is refused; a client that sends neither (curl, a
 * script with a Bearer key) is not a browser riding a cookie.
 */
export function crossSiteWrite(request: FastifyRequest, allowed: readonly string[]): string | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined
  const origin = request.headers.origin
  if (origin !== undefined) {
    return originAllowed(request, origin, allowed) ? undefined : `a page from ${JSON.stringify(origin)} may not make changes here`
  }
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `a ${JSON.stringify(site)} page may not make changes here`
  }
  return undefined
}
