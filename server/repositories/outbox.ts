import type { Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { NotificationBody } from '../../contracts/live.ts'

/** Written inside the saving transaction, so the notification exists exactly when the change does. */
export async function writeNotifications(trx: Transaction<Database>, bodies: NotificationBody[]): Promise<void> {
  if (bodies.length === 0) return
  await trx
    .insertInto('outbox')
    .values(bodies.map((body) => ({ type: body.type, payload: JSON.stringify(body) })))
    .execute()
}
