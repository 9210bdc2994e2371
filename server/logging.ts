import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'

const KEY_IN_URL = /([?&]session_key=)[^&#]*/gi

/** A URL as it may be logged: any `session_key` value replaced. */
export function redactUrl(url: string): string {
  return url.replace(KEY_IN_URL, '$1[REDACTED]')
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
