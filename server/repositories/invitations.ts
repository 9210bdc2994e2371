import { randomBytes } from 'node:crypto'
import { sql, type Kysely, type Selectable } from 'kysely'
import type { Database, InvitationsTable } from '../../db/schema.ts'
import type { Invitation, InvitationState, NewInvitation } from '../../contracts/invitations.ts'
import type { PublicUser } from '../../contracts/users.ts'
import { hashSessionKey } from '../auth/session-keys.ts'
import { ConflictError, NotFoundError } from '../errors.ts'
import type { UserRepository } from './users.ts'

// Invitations by email. The row is the record of what must be done: the
// dispatcher (server/jobs/dispatcher.ts) makes a mail job from each row
// whose sends_done is behind sends_requested, and the invite handler
// (server/jobs/invite.ts) sets a fresh key's hash with each send. Until the
// first send the row holds a placeholder no key hashes to, so no link works
// before its mail went out.

type Row = Selectable<InvitationsTable> & { expired: boolean; accepted_username: string | null }

const iso = (at: Date | string) => new Date(at).toISOString()

/** a hash is 64 hex digits: this never equals one */
const placeholderKeyHash = () => `unsent-${randomBytes(16).toString('hex')}`

/** A link that cannot be used, and why; 404 when no invitation has this key, 410 when it had one. */
export type UnusableReason = 'unknown' | 'used' | 'revoked' | 'expired'

export class InvitationUnusableError extends Error {
  readonly statusCode: 404 | 410
  constructor(readonly reason: UnusableReason) {
    super(UNUSABLE[reason])
    this.statusCode = reason === 'unknown' ? 404 : 410
  }
}

const UNUSABLE: Record<UnusableReason, string> = {
  unknown: 'no invitation has this key: check that the whole link was copied, and use the newest mail if it was sent again',
  used: 'this invitation key was already used: sign in with the username and password chosen then',
  revoked: 'this invitation key was revoked by an admin: ask them for a new invitation',
  expired: 'this invitation key has expired: ask an admin to send it again',
}

/** Too many of one admin's invitations wait for their mail: the job queue is bounded per user. */
export class TooManyWaitingError extends Error {
  readonly statusCode = 429
}

export function invitationView(row: Row): Invitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    state: stateOf(row),
    invited_by: row.invited_by_name,
    created: iso(row.created),
    expires: iso(row.expires),
    sent: row.sent ? iso(row.sent) : null,
    send_error: row.send_error,
    accepted: row.accepted ? iso(row.accepted) : null,
    accepted_username: row.accepted_username,
  }
}

/**
 * Revoked and accepted are final. A mail not yet sent is `sending` (an error
 * beside it is why the last attempt failed, and another follows); a mail the
 * worker gave up on is `send_failed`, since no working link went out; a sent
 * link past its time is `expired`.
 */
export function stateOf(row: Pick<Row, 'revoked' | 'accepted' | 'sends_done' | 'sends_requested' | 'send_error' | 'expired'>): InvitationState {
  if (row.revoked) return 'revoked'
  if (row.accepted) return 'accepted'
  if (row.sends_done < row.sends_requested) return 'sending'
  if (row.send_error !== null) return 'send_failed'
  if (row.expired) return 'expired'
  return 'sent'
}

export interface InvitationLimits {
  /** JOBS_QUEUED_PER_USER: invitations of one admin whose mail is not sent yet */
  queuedPerUser: number
  /** INVITE_TTL_HOURS: the first expiry; each send sets it again from the send */
  ttlHours: number
}

export function invitationRepository(db: Kysely<Database>, users: UserRepository, limits: InvitationLimits) {
  const rows = (trx: Kysely<Database> = db) =>
    trx
      .selectFrom('invitations as i')
      .leftJoin('users as u', 'u.id', 'i.accepted_user_id')
      .selectAll('i')
      .select(['u.username as accepted_username', sql<boolean>`i.expires < now()`.as('expired')])

  async function get(id: number, trx: Kysely<Database> = db): Promise<Row> {
    const row = await rows(trx).where('i.id', '=', id).executeTakeFirst()
    if (!row) throw new NotFoundError('invitation', id)
    return row
  }

  /**
   * The invitations of one admin whose mail is still to go out. Their user
   * row is locked first, so two invitations made at once are counted one
   * after the other and the bound holds.
   */
  async function assertRoomToSend(trx: Kysely<Database>, inviterId: number) {
    await trx.selectFrom('users').select('id').where('id', '=', inviterId).forNoKeyUpdate().execute()
    const { n } = await trx
      .selectFrom('invitations')
      .select(sql<string>`count(*)`.as('n'))
      .where('invited_by_id', '=', inviterId)
      .whereRef('sends_done', '<', 'sends_requested')
      .where('revoked', 'is', null)
      .where('accepted', 'is', null)
      .executeTakeFirstOrThrow()
    if (Number(n) >= limits.queuedPerUser) {
      throw new TooManyWaitingError(`${n} of your invitations are still waiting for their mail to go out (at most ${limits.queuedPerUser}): try again once they are sent`)
    }
  }

  return {
    get: async (id: number) => invitationView(await get(id)),

    /**
     * Records an invitation, handed over (`enqueued`) in the same breath: the
     * caller adds its job at once, reporting to the admin, and the dispatcher
     * leaves it alone meanwhile (see `handOverLater` if the add fails).
     */
    async create(input: NewInvitation, inviter: { id: number; username: string }): Promise<Row> {
      return db.transaction().execute(async (trx) => {
        await assertRoomToSend(trx, inviter.id)
        const email = input.email.trim()
        const owner = await trx.selectFrom('users').select('username').where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()
        if (owner) throw new ConflictError('email', input.email, `the address ${email} already belongs to the user ${owner.username}`)
        const open = await trx
          .selectFrom('invitations')
          .select('id')
          .where(sql`lower(email)`, '=', email.toLowerCase())
          .where('revoked', 'is', null)
          .where('accepted', 'is', null)
          .where('expires', '>', sql<Date>`now()`)
          .executeTakeFirst()
        if (open) throw new ConflictError('email', input.email, `${email} already has an open invitation (${open.id}): send it again or revoke it`)
        const { id } = await trx
          .insertInto('invitations')
          .values({
            email,
            role: input.role,
            key_hash: placeholderKeyHash(),
            invited_by_id: inviter.id,
            invited_by_name: inviter.username,
            expires: sql<Date>`now() + make_interval(hours => ${limits.ttlHours})`,
            enqueued: sql<Date>`now()`,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        return get(id, trx)
      })
    },

    /** The job could not be added now: the dispatcher's next pass takes the row. */
    async handOverLater(id: number): Promise<void> {
      await db.updateTable('invitations').set({ enqueued: null }).where('id', '=', id).execute()
    },

    async list(options: { cursor?: number | undefined; limit: number }): Promise<{ invitations: Invitation[]; nextCursor: number | null }> {
      let query = rows().orderBy('i.id', 'desc').limit(options.limit + 1)
      if (options.cursor !== undefined) query = query.where('i.id', '<', options.cursor)
      const found = await query.execute()
      const page = found.slice(0, options.limit)
      return { invitations: page.map(invitationView), nextCursor: found.length > options.limit ? page[page.length - 1]!.id : null }
    },

    /** Another mail with a new key (the older links stop working) and a new expiry; counted against the admin's bound. */
    async resend(id: number, requester: { id: number }): Promise<Row> {
      return db.transaction().execute(async (trx) => {
        await assertRoomToSend(trx, requester.id)
        const current = await trx.selectFrom('invitations').selectAll().select(sql<boolean>`expires < now()`.as('expired')).where('id', '=', id).forUpdate().executeTakeFirst()
        if (!current) throw new NotFoundError('invitation', id)
        const state = stateOf(current)
        if (state === 'accepted' || state === 'revoked' || state === 'sending') {
          const why = state === 'sending' ? 'its mail is still being sent' : `it was ${state}`
          throw new ConflictError('id', id, `invitation ${id} cannot be sent again: ${why}`)
        }
        await trx
          .updateTable('invitations')
          // the resend is this admin's job now (its status goes to them): their bound counts it
          .set({ sends_requested: sql<number>`sends_requested + 1`, send_error: null, enqueued: sql<Date>`now()`, invited_by_id: requester.id })
          .where('id', '=', id)
          .execute()
        return get(id, trx)
      })
    },

    /** Its link stops working at once; a mail still to go out is not sent. Revoking twice is no error. */
    async revoke(id: number): Promise<Invitation> {
      const current = await get(id)
      if (current.accepted) throw new ConflictError('id', id, `invitation ${id} was accepted by ${current.accepted_username ?? 'a user since deleted'}: remove the user instead`)
      await db.updateTable('invitations').set({ revoked: sql<Date>`now()` }).where('id', '=', id).where('revoked', 'is', null).where('accepted', 'is', null).execute()
      const after = await get(id)
      if (after.accepted) throw new ConflictError('id', id, `invitation ${id} was accepted meanwhile`)
      return invitationView(after)
    },

    /** What a link's page shows: whom it invites, or why it no longer works. */
    async look(key: string): Promise<{ kind: 'usable'; email: string; role: Invitation['role']; invitedBy: string; expires: string } | { kind: UnusableReason }> {
      const row = await rows().where('i.key_hash', '=', hashSessionKey(key)).executeTakeFirst()
      const reason = row ? unusable(row) : 'unknown'
      if (reason || !row) return { kind: reason ?? 'unknown' }
      return { kind: 'usable', email: row.email, role: row.role, invitedBy: row.invited_by_name, expires: iso(row.expires) }
    },

    /**
     * Makes the account, in one transaction with spending the key: the row is
     * locked by its key hash, so of two acceptances at once the second finds
     * it used. The account gets the invited address and role.
     */
    async accept(key: string, username: string, password: string): Promise<PublicUser> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('invitations')
          .selectAll()
          .select(sql<boolean>`expires < now()`.as('expired'))
          .where('key_hash', '=', hashSessionKey(key))
          .forUpdate()
          .executeTakeFirst()
        const reason = row ? unusable(row) : 'unknown'
        if (reason || !row) throw new InvitationUnusableError(reason ?? 'unknown')
        const user = await users.create(username, password, row.role, row.email, trx)
        await trx.updateTable('invitations').set({ accepted: sql<Date>`now()`, accepted_user_id: user.id }).where('id', '=', row.id).execute()
        return user
      })
    },
  }
}

function unusable(row: Pick<Row, 'accepted' | 'revoked' | 'expired'>): UnusableReason | undefined {
  if (row.accepted) return 'used'
  if (row.revoked) return 'revoked'
  if (row.expired) return 'expired'
  return undefined
}

export type InvitationRepository = ReturnType<typeof invitationRepository>
