import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { AcceptInvitation, Invitation, InvitationPage, NewInvitation } from '../../../contracts/invitations.ts'
import { IdParams } from '../../../contracts/params.ts'
import { SessionUser } from '../../../contracts/users.ts'
import { problemResponses } from '../../http/problem.ts'
import { startSession, type SessionCookieOptions } from '../../auth/session-cookie.ts'
import { invitationJobId } from '../../jobs/dispatcher.ts'
import { invitationRepository, invitationView, type InvitationLimits, type InvitationRepository } from '../../repositories/invitations.ts'

export interface InvitationRouteOptions extends SessionCookieOptions, InvitationLimits {
  /** acceptances per client address and minute (each hashes a password) */
  acceptRateLimitPerMinute: number
}

const InvitationQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  cursor: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: '`next_cursor` of the previous page' })),
}, { additionalProperties: false })

const SignedIn = Type.Object({ session_key: Type.String(), user: SessionUser, expires: Type.String({ format: 'date-time' }) })

/** The accept routes (this API's and the link page's) are limited per client address, as sign-in is. */
export const acceptRateLimit = (perMinute: number) => ({ max: perMinute, timeWindow: 60_000 })

/**
 * Hands an invitation's mail to the job engine now, its status reported to
 * the admin who asked. The row is recorded either way: if the engine can't
 * take the job, the dispatcher's next pass does.
 */
export async function sendInvitationMail(
  app: FastifyInstance,
  invitations: InvitationRepository,
  row: { id: number; sends_requested: number },
  userId: number,
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    await app.jobs.dispatcher.addNow({
      name: 'invite',
      id: invitationJobId(row),
      data: { invitationId: row.id, send: row.sends_requested },
      startedBy: { userId, kind: 'invitation', subjectId: row.id },
    })
  } catch (error) {
    log.warn({ err: error }, 'invitation: the job engine is unreachable; the dispatcher will hand the mail over')
    await invitations.handOverLater(row.id).then(() => app.jobs.dispatcher.wake()).catch(() => {})
  }
}

/**
 * Admins invite people by email; the worker mails each a single-use link
 * (server/jobs/invite.ts). Accepting makes the account with the invited
 * address and role, and signs it in as POST /api/auth/login does.
 */
const invitations: FastifyPluginAsyncTypebox<InvitationRouteOptions> = async (app, options) => {
  const repository = invitationRepository(app.db, app.users, options)

  app.post('/api/invitations', {
    config: { access: 'admin' },
    schema: {
      tags: ['invitations'],
      summary: 'Invite an address with a role; the mail goes out in the background and its job reports to your sockets',
      body: NewInvitation,
      response: { 201: Invitation, ...problemResponses(400, 401, 403, 409, 429) },
    },
  }, async (request, reply) => {
    const user = request.session!.user
    const row = await repository.create(request.body, user)
    await sendInvitationMail(app, repository, row, user.id, request.log)
    return reply.code(201).send(invitationView(row))
  })

  app.get('/api/invitations', {
    config: { access: 'admin' },
    schema: {
      tags: ['invitations'],
      summary: 'Invitations, newest first: who invited, when the mail went out (or why not), accepted, expired or revoked',
      querystring: InvitationQuery,
      response: { 200: InvitationPage, ...problemResponses(400, 401, 403) },
    },
  }, async (request) => {
    const page = await repository.list({ cursor: request.query.cursor, limit: request.query.limit })
    return { invitations: page.invitations, next_cursor: page.nextCursor }
  })

  app.post('/api/invitations/:id/resend', {
    config: { access: 'admin' },
    schema: {
      tags: ['invitations'],
      summary: 'Mail the invitation again with a new key and expiry (older links stop working); the job reports to your sockets',
      params: IdParams,
      response: { 202: Invitation, ...problemResponses(400, 401, 403, 404, 409, 429) },
    },
  }, async (request, reply) => {
    const user = request.session!.user
    const row = await repository.resend(request.params.id, user)
    await sendInvitationMail(app, repository, row, user.id, request.log)
    return reply.code(202).send(invitationView(row))
  })

  app.delete('/api/invitations/:id', {
    config: { access: 'admin' },
    schema: {
      tags: ['invitations'],
      summary: 'Revoke an invitation: its link stops working; it stays in the list as revoked',
      params: IdParams,
      response: { 200: Invitation, ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => repository.revoke(request.params.id))

  app.post('/api/invitations/accept', {
    config: { access: 'public', rateLimit: acceptRateLimit(options.acceptRateLimitPerMinute) },
    schema: {
      tags: ['invitations'],
      summary: 'Accept an invitation: choose a username and password; signs you in (the session cookie, and the key for non-browser clients)',
      body: AcceptInvitation,
      response: { 201: SignedIn, ...problemResponses(400, 404, 409, 410, 429) },
    },
  }, async (request, reply) => {
    const user = await repository.accept(request.body.key, request.body.username, request.body.password)
    return reply.code(201).send(await startSession(app, reply, user.id, options))
  })
}

export default invitations
