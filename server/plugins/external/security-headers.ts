import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

export interface SecurityHeadersOptions {
  /** the base map's tile URL template: its origin is the one place images come from besides ours */
  tileUrl: string
  /** served over HTTPS (COOKIE_SECURE): browsers may then be told to keep to HTTPS */
  https: boolean
}

/**
 * The headers every answer carries (@fastify/helmet): a Content Security
 * Policy the dashboard passes with no inline script, no framing by anyone
 * (clickjacking an operator's "delete"), `nosniff`, and `no-store` on every
 * answer that does not set its own caching (the API's data stays out of
 * shared and disk caches; the dashboard's files keep theirs).
 */
export default fp<SecurityHeadersOptions>(
  async (app, options) => {
    await app.register(helmet, {
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
    })
    app.addHook('onSend', async (_request, reply, payload) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
      return payload
    })
  },
  { name: 'security-headers' },
)

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
