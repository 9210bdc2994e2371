import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { FieldChange, HistoryAction, HistoryEntry } from '../../contracts/history.ts'
import { NotFoundError } from '../errors.ts'
import { isoTimestamp } from './feature-rows.ts'

/** One change to record, in the transaction that makes it. */
export interface HistoryInsert {
  subject_kind: 'incident' | 'area'
  subject_id: number
  action: HistoryAction
  actor: { id: number; username: string } | null
  changes: Record<string, FieldChange>
  alert?: { id: number; area_id: number; area_name: string }
}

export async function recordHistory(trx: Transaction<Database>, entries: HistoryInsert[]): Promise<void> {
  if (entries.length === 0) return
  await trx
    .insertInto('history')
    .values(entries.map((e) => ({
      subject_kind: e.subject_kind,
      subject_id: e.subject_id,
      action: e.action,
      actor_id: e.actor?.id ?? null,
      actor_name: e.actor?.username ?? null,
      changes: JSON.stringify(e.changes),
      alert_id: e.alert?.id ?? null,
      alert_area_id: e.alert?.area_id ?? null,
      alert_area_name: e.alert?.area_name ?? null,
    })))
    .execute()
}

/** Who a user id is, for the history of a change made in a transaction: null when nobody (or a deleted user) made it. */
export async function actorOf(trx: Transaction<Database>, userId: number | null): Promise<HistoryInsert['actor']> {
  if (userId === null) return null
  const user = await trx.selectFrom('users').select(['id', 'username']).where('id', '=', userId).executeTakeFirst()
  return user ?? null
}

export type HistoryRepository = ReturnType<typeof historyRepository>

export function historyRepository(db: Kysely<Database>) {
  /**
   * The history of an incident or an area, oldest first. Of one that has been
   * deleted only `includeDeleted` callers (admins) see it; to anyone else it
   * does not exist, like the thing itself.
   */
  async function of(kind: 'incident' | 'area', id: number, options: { includeDeleted: boolean }): Promise<HistoryEntry[]> {
    const table = kind === 'incident' ? 'incidents' : 'areas_of_interest'
    const exists = await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst()
    if (!exists && !options.includeDeleted) throw new NotFoundError(kind, id)
    const rows = await db
      .selectFrom('history')
      .select(['id', isoTimestamp(sql.ref('at')).as('at'), 'action', 'actor_id', 'actor_name', 'changes', 'alert_id', 'alert_area_id', 'alert_area_name'])
      .where('subject_kind', '=', kind)
      .where('subject_id', '=', id)
      .orderBy('id')
      .execute()
    if (rows.length === 0 && !exists) throw new NotFoundError(kind, id)
    return rows.map((row) => ({
      id: Number(row.id),
      at: row.at,
      action: row.action,
      actor: row.actor_name === null ? null : { id: row.actor_id!, username: row.actor_name },
      changes: row.changes,
      alert: row.alert_id === null ? null : { id: row.alert_id, area: { id: row.alert_area_id!, name: row.alert_area_name! } },
    }))
  }

  return { of }
}
