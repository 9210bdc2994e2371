import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { Role } from '../../../contracts/users.ts'
import type { ActiveSession } from '../../repositories/sessions.ts'
import { SessionCache } from '../../auth/session-cache.ts'
import { sendProblem } from '../../http/problem.ts'
import { accessOf } from '../../http/route-access.ts'
import { crossSiteWrite } from '../../http/origins.ts'
import { SESSION_COOKIE } from '../../auth/session-keys.ts'
import { hasRole } from '../../auth/roles.ts'

export interface AuthOptions {
  /**
   * How long a resolved session is reused without asking the database again
   * (0: never). A revocation on this instance takes effect at once whatever
   * this is; one made elsewhere within this long. The default matches the
   * default SESSION_CHECK_MS, the bound that open sockets already have.
   */
  sessionCacheMs?: number
  /** origins whose pages may make changes with the cookie; empty: only the server's own */
  allowedOrigins: readonly string[]
}

const SESSION_CACHE_MS = 500
/** one entry per signed-in client that was active in the last `sessionCacheMs` */
const SESSION_CACHE_ENTRIES = 10_000

declare module 'fastify' {
  interface FastifyRequest {
    session: ActiveSession | null
    /** where the key came from: the cookie needs an Origin check on /ws, the others don't */
    sessionKeySource: 'cookie' | 'bearer' | 'query' | null
  }
}

/**
 * The session key, from (in order) the cookie the dashboard holds, an
 * `Authorization: Bearer` header, or `?session_key=` (the reference tracker's
 * socket URL, for clients that cannot set headers).
 */
export function sessionKeyOf(
  request: Pick<FastifyRequest, 'cookies' | 'headers' | 'query'>,
): { key: string; source: 'cookie' | 'bearer' | 'query' } | undefined {
  const cookie = request.cookies?.[SESSION_COOKIE]
  if (cookie) return { key: cookie, source: 'cookie' }
  const authorization = request.headers.authorization
  if (authorization?.startsWith('Bearer ')) return { key: authorization.slice(7).trim(), source: 'bearer' }
  const query = request.query as Record<string, unknown> | undefined
  const fromQuery = query?.session_key
  return typeof fromQuery === 'string' ? { key: fromQuery, source: 'query' } : undefined
}

/**
 * Decides every request by the route it matched (never by the URL's text,
 * which the router decodes differently: `/%61pi/users` is `/api/users`):
 * 401 without a valid session, 403 with too small a role, 403 for a write
 * from another site's page. The session is looked up (reusing a lookup for up
 * to `sessionCacheMs`: session-cache.ts) before the body is read, and only
 * for routes that need it. A request that matched no route gets the 404
 * handler, which does nothing but say so.
 */
export default fp<AuthOptions>(
  async (app, options) => {
    app.decorateRequest('session', null)
    app.decorateRequest('sessionKeySource', null)
    const sessions = new SessionCache((key) => app.sessions.resolve(key), {
      ttlMs: options.sessionCacheMs ?? SESSION_CACHE_MS,
      maxEntries: SESSION_CACHE_ENTRIES,
    })
    const offRevoked = app.sessionEvents.onRevoked((revocation) => sessions.forget(revocation))
    app.addHook('onClose', async () => offRevoked())
    app.addHook('onRequest', async (request, reply) => {
      const found = sessionKeyOf(request)
      // the key is not a query parameter of any route: drop it before validation sees it
      const query = request.query as Record<string, unknown> | undefined
      if (query && 'session_key' in query) delete query.session_key
      if (request.is404) return

      const crossSite = crossSiteWrite(request, options.allowedOrigins)
      if (crossSite) return sendProblem(reply, 403, crossSite)

      const config = request.routeOptions.config
      const access = accessOf(config)
      if (access === 'public' && !config.readsSession) return
      if (found) {
        request.session = (await sessions.resolve(found.key)) ?? null
        request.sessionKeySource = found.source
      }
      if (access === 'public') return
      if (!request.session) {
        return sendProblem(reply, 401, found ? 'the session has expired or was revoked: sign in again' : 'sign in first: this needs a session')
      }
      if (!hasRole(request.session, access)) {
        return sendProblem(reply, 403, `this needs the ${access} role; ${request.session.user.username} is ${request.session.user.role}`)
      }
    })
  },
  { name: 'auth', dependencies: ['repositories', 'route-access'] },
)
