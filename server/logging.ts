import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'

/**
 * A URL as it may be logged: the value of every query parameter that names a
 * session key replaced, however the name is spelt. The query-string parser
 * decodes names (`session%5Fkey` and `%73ession_key` authenticate as
 * `session_key` does) and the router starts a query at `?` or `#` (and at
 * `;` with useSemicolonDelimiter); a near miss (other case, `+`, another
 * separator, double encoding) does not authenticate but still carries a key
 * someone meant to send. So names are compared decoded, case-folded and
 * without punctuation, parameters start after any of `? # ; &`, and a value
 * runs to the next `&`, where the parser ends it.
 */
export function redactUrl(url: string): string {
  const start = url.search(/[?#;]/)
  if (start < 0) return url
  const parts = url.slice(start).split(/(?=[?#;&])/)
  let out = url.slice(0, start)
  let redacting = false
  for (const part of parts) {
    if (redacting && part[0] !== '&') continue // still the redacted value, as the parser reads it
    redacting = false
    const equals = part.indexOf('=')
    if (equals > 0 && namesSessionKey(part.slice(1, equals))) {
      out += `${part.slice(0, equals)}=[REDACTED]`
      redacting = true
    } else {
      out += part
    }
  }
  return out
}

function namesSessionKey(rawName: string): boolean {
  let name = rawName.replace(/\+/g, ' ')
  for (let i = 0; i < 3 && name.includes('%'); i++) {
    name = name.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  }
  return name.toLowerCase().replace(/[^a-z0-9]/g, '') === 'sessionkey'
}

/**
 * Logger options. Session keys must never reach a log: the query-string key is
 * cut out of every logged URL, and the headers that can carry one are redacted
 * should anything ever log headers.
 */
export function loggerOptions(level: string, stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream && { stream }),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie'],
      censor: '[REDACTED]',
    },
    serializers: {
      req(request: { method: string; url: string; hostname?: string; ip?: string; id?: string }) {
        return { method: request.method, url: redactUrl(request.url), host: request.hostname, remoteAddress: request.ip }
      },
    },
  }
}
