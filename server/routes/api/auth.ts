import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponses } from '../../http/problem.ts'
import { sendProblem } from '../../http/problem.ts'
import { SESSION_COOKIE } from '../../auth/session-keys.ts'
import { startSession } from '../../auth/session-cookie.ts'
import { MAX_PASSWORD_LENGTH } from '../../auth/passwords.ts'
import { UsernameLimiter } from '../../auth/username-limiter.ts'
import { PublicUser, SessionState, SessionUser } from '../../../contracts/users.ts'

export interface AuthRouteOptions {
  cookieSecure: boolean
  loginRateLimitPerMinute: number
  loginUsernameRateLimitPerMinute: number
  absoluteSeconds: number
}

const MINUTE_MS = 60_000

const auth: FastifyPluginAsyncTypebox<AuthRouteOptions> = async (app, options) => {
  const usernames = new UsernameLimiter(options.loginUsernameRateLimitPerMinute, MINUTE_MS)

  app.post(
    '/api/auth/login',
    {
      config: {
        access: 'public',
        // per client address (behind a proxy: the address TRUST_PROXY's proxy saw), before the
        // body is read; generous, since a whole operations room may share one address
        rateLimit: {
          max: options.loginRateLimitPerMinute,
          timeWindow: MINUTE_MS,
          errorResponseBuilder: (_request, context) => tooMany(`too many attempts from this address: try again in ${retrySeconds(context.ttl)} s`),
        },
      },
      schema: {
        tags: ['auth'],
        summary: 'Sign in; sets the HttpOnly session cookie and returns the same key for non-browser clients',
        body: Type.Object(
          { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ session_key: Type.String(), user: SessionUser, expires: Type.String({ format: 'date-time' }) }),
          ...problemResponses(400, 401, 429),
        },
      },
    },
    async (request, reply) => {
      // per username, from any address: stops guessing one account without locking out its neighbours
      const attempt = usernames.begin(request.body.username)
      if (!attempt.allowed) {
        const seconds = retrySeconds(attempt.retryAfterMs)
        reply.header('retry-after', String(seconds))
        return sendProblem(reply, 429, `too many failed attempts for this username: try again in ${seconds} s`)
      }
      const user = await app.users.verifyCredentials(request.body.username, request.body.password)
      // one message whether the user exists or not, so usernames can't be probed
      if (!user) return sendProblem(reply, 401, 'wrong username or password')
      attempt.succeeded()
      return startSession(app, reply, user.id, options)
    },
  )

  app.post(
    '/api/auth/logout',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: 'Sign out: revokes this session (its live sockets close too)',
        response: { 204: Type.Null(), ...problemResponses(401) },
      },
    },
    async (request, reply) => {
      await app.sessions.revoke(request.session!.sessionId)
      await app.sessionEvents.revoked([request.session!.sessionId])
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/api/auth/session',
    {
      config: { access: 'public', readsSession: true },
      schema: {
        tags: ['auth'],
        summary: 'Whether this browser is signed in: the user, or null (never 401, so a page can ask quietly)',
        response: { 200: SessionState },
      },
    },
    async (request) => ({
      user: request.session?.user ?? null,
      expires: request.session ? request.session.absoluteExpires.toISOString() : null,
    }),
  )

  app.get(
    '/api/me',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user',
        response: { 200: PublicUser, ...problemResponses(401) },
      },
    },
    async (request) => app.users.get(request.session!.user.id),
  )
}

const retrySeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

function tooMany(detail: string): Error & { statusCode: number } {
  return Object.assign(new Error(detail), { statusCode: 429 })
}

export default auth
