import type { FastifyInstance, FastifyReply } from 'fastify'
import type { SessionUser } from '../../contracts/users.ts'
import { SESSION_COOKIE } from './session-keys.ts'

export interface SessionCookieOptions {
  /** served over HTTPS (COOKIE_SECURE) */
  cookieSecure: boolean
  /** the session's absolute lifetime: the cookie lives as long */
  absoluteSeconds: number
}

export interface SignedIn {
  session_key: string
  user: SessionUser
  expires: string
}

/**
 * Starts a session for a user and hands its key to the browser in the
 * HttpOnly cookie (and to a non-browser client in the answer). Signing in
 * with a password and accepting an invitation end the same way.
 */
export async function startSession(app: FastifyInstance, reply: FastifyReply, userId: number, options: SessionCookieOptions): Promise<SignedIn> {
  const { key, session } = await app.sessions.create(userId)
  reply.setCookie(SESSION_COOKIE, key, {
    httpOnly: true,
    sameSite: 'strict',
    secure: options.cookieSecure,
    path: '/',
    maxAge: options.absoluteSeconds,
  })
  return { session_key: key, user: session.user, expires: session.absoluteExpires.toISOString() }
}
