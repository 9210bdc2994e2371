import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problemResponses, sendProblem } from '../../http/problem.ts'
import { InvalidFieldError } from '../../errors.ts'
import { UsernameLimiter } from '../../auth/username-limiter.ts'
import { PasswordChange, PasswordChanged } from '../../../contracts/user-admin.ts'

export interface MyPasswordRouteOptions {
  /** attempts per client address and minute, as for sign-in */
  rateLimitPerMinute: number
  /** wrong current passwords per user and minute, as failed sign-ins per username */
  failuresPerUserPerMinute: number
}

const MINUTE_MS = 60_000

/**
 * Everyone changes their own password. The current one is asked for, so a
 * session left open on a shared screen cannot be turned into the account
 * itself; and a wrong one counts like a failed sign-in, so it cannot be
 * guessed through this route either.
 */
const myPassword: FastifyPluginAsyncTypebox<MyPasswordRouteOptions> = async (app, options) => {
  const failures = new UsernameLimiter(options.failuresPerUserPerMinute, MINUTE_MS)

  app.put('/api/me/password', {
    config: { access: 'viewer', rateLimit: { max: options.rateLimitPerMinute, timeWindow: MINUTE_MS } },
    schema: {
      tags: ['auth'],
      summary: 'Change my own password: needs the current one; signs out my other sessions, this one stays',
      body: PasswordChange,
      response: { 200: PasswordChanged, ...problemResponses(400, 401, 429) },
    },
  }, async (request, reply) => {
    const session = request.session!
    const attempt = failures.begin(`user:${session.user.id}`)
    if (!attempt.allowed) {
      const seconds = Math.max(1, Math.ceil(attempt.retryAfterMs / 1000))
      reply.header('retry-after', String(seconds))
      return sendProblem(reply, 429, `too many wrong current passwords: try again in ${seconds} s`)
    }
    const { current_password, new_password } = request.body
    const revoked = await app.users.changeOwnPassword(session.user.id, current_password, new_password, session.sessionId)
    // the value is a password: it is not echoed back
    if (!revoked) throw new InvalidFieldError('/current_password', undefined, 'current_password is not your current password')
    attempt.succeeded()
    if (revoked.length) await app.sessionEvents.revoked(revoked)
    return { other_sessions_signed_out: revoked.length }
  })
}

export default myPassword
