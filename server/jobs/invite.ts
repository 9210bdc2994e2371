import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { generateSessionKey, hashSessionKey } from '../auth/session-keys.ts'
import type { JobHandler } from './engine.ts'
import { PermanentError } from './engine.ts'
import type { Mailer } from './mailer.ts'
import { composeInvitationMail } from './invitation-mail.ts'

export interface InviteDeps {
  db: Kysely<Database>
  mailer: Mailer
  publicUrl: string
  ttlHours: number
}

/**
 * Mails an invitation. Only the key's hash is kept, so each send makes a new
 * key (and a resend makes the older links stop working); the link's expiry
 * runs from the send. Of a send repeated after a crash, the later mail's link
 * is the one that works.
 */
export function inviteHandler(deps: InviteDeps): JobHandler<'invite'> {
  return {
    async run({ invitationId, send }) {
      const key = generateSessionKey()
      const row = await deps.db
        .updateTable('invitations')
        .set({ key_hash: hashSessionKey(key), expires: sql<Date>`now() + make_interval(hours => ${deps.ttlHours})` })
        .where('id', '=', invitationId)
        .where('sends_done', '<', send)
        .where('revoked', 'is', null)
        .where('accepted', 'is', null)
        .returning(['id', 'email', 'role', 'invited_by_name', 'expires'])
        .executeTakeFirst()
      if (!row) return // sent already, revoked or accepted meanwhile
      try {
        await deps.mailer.send(composeInvitationMail(row, key, `<invitation-${row.id}-${send}@${new URL(deps.publicUrl).hostname}>`, deps.publicUrl))
      } catch (error) {
        await deps.db.updateTable('invitations').set({ send_error: (error as Error).message.slice(0, 500) }).where('id', '=', invitationId).execute()
        throw error
      }
      await deps.db
        .updateTable('invitations')
        .set({ sends_done: send, sent: sql<Date>`now()`, send_error: null })
        .where('id', '=', invitationId)
        .execute()
    },
    async giveUp({ invitationId, send }, error) {
      // counted as done, so it is not sent again until someone asks (resend); the error says why
      await deps.db
        .updateTable('invitations')
        .set({ sends_done: send, send_error: (error instanceof PermanentError ? '' : 'gave up: ') + error.message.slice(0, 480) })
        .where('id', '=', invitationId)
        .where('sends_done', '<', send)
        .execute()
    },
  }
}
