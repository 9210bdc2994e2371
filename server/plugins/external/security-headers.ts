import fp from 'fastify-plugin'
import helmet from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface SecurityHeadersOptions {
  /** the base map's tile URL template: its origin is the one place images come from besides ours */
  tileUrl: string
  /** served over HTTPS (COOKIE_SECURE): browsers may then be told to keep to HTTPS */
  https: boolean
}

/**
 * The headers every answer carries (helmet's): a Content Security Policy the
 * dashboard passes with no inline script, no framing by anyone (clickjacking
 * an operator's "delete"), `nosniff`, and `no-store` on every answer that
 * does not set its own caching (the API's data stays out of shared and disk
 * caches; the dashboard's files keep theirs).
 *
 * Helmet works them out once, at start: they depend on the options only, and
 * @fastify/helmet built its middleware, parsing the CSP again, on every
 * request, a visible share of the server's CPU per save. They are the
 * reply's before the route runs, so a route's own header (Swagger UI's CSP)
 * still wins; and none is set on the raw response, so Node writes the head
 * straight from the reply's headers instead of merging them into its own.
 */
export default fp<SecurityHeadersOptions>(
  async (app, options) => {
    const headers = securityHeaders(options)
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers)
      done()
    })
    app.addHook('onSend', async (_request, reply, payload) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
      return payload
    })
  },
  { name: 'security-headers' },
)

/** Every header helmet sets for these options, by name, as it would set them on a response. */
export function securityHeaders(options: SecurityHeadersOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader: (name: string, value: string) => void (headers[name] = value),
    // it removes X-Powered-By, which nothing here sets
    removeHeader: () => {},
  }
  helmet(helmetOptions(options))({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => {
    if (error) throw error
  })
  return headers
}

/** What helmet is given (the tests give @fastify/helmet the same, to compare). */
export function helmetOptions(options: SecurityHeadersOptions) {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        // the dashboard colours its severity dots with style attributes; styles can't run code
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:', ...tileSource(options.tileUrl)],
        // 'self' covers the live socket (ws:/wss: of the same host)
        connectSrc: ["'self'"],
        workerSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // on plain HTTP (the embedded default on a laptop) HSTS means nothing; behind TLS it keeps browsers there
    strictTransportSecurity: options.https,
  }
}

/**
 * The CSP source of the tile server, from Leaflet's URL template: `{s}`
 * (a subdomain letter) becomes a wildcard. A relative template is ours ('self').
 */
export function tileSource(template: string): string[] {
  const match = /^(https?:)\/\/([^/?#]+)/i.exec(template)
  if (!match) return []
  const host = match[2]!.replace(/\{s\}/g, '*')
  if (/[{}]/.test(host)) return [`${match[1]}`] // a placeholder we can't express: the scheme, as narrow as CSP allows here
  return [`${match[1]}//${host}`]
}
