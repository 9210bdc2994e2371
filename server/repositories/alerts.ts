import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Alert, AlertState, AlertSummary } from '../../contracts/alerts.ts'
import { SEVERITIES } from '../../contracts/severity.ts'
import { alertIncidentJson, alertJson } from './alert-records.ts'
import { writeNotifications } from './outbox.ts'
import { recordHistory } from './history.ts'
import { ConflictError, NotFoundError } from '../errors.ts'
import type { SaveHooks } from './hooks.ts'

type Db = Kysely<Database> | Transaction<Database>

export interface AlertFilter {
  state?: AlertState[] | undefined
  area?: number | undefined
  incident?: number | undefined
  /** only alerts fired at or after this instant */
  since?: Date | undefined
  /** id of the last alert of the previous page (pages go from newest to oldest) */
  cursor?: number | undefined
  limit: number
}

export interface AlertPageResult {
  alerts: Alert[]
  nextCursor: number | null
}

export interface Actor {
  id: number
  username: string
}

/** Alerts as the API shows them, with the incident and the area as they now stand. */
function selectAlerts(db: Db) {
  return db
    .selectFrom('alerts as al')
    .leftJoin('incidents as i', 'i.id', 'al.incident_id')
    .leftJoin('areas_of_interest as a', 'a.id', 'al.area_id')
    .select([alertJson('al', alertIncidentJson('i'), 'a').as('alert'), 'al.id'])
}

/** The alerts with these ids, as they stand in `db` (a transaction sees its own changes), in the order of `ids`. */
export async function alertsByIds(db: Db, ids: number[]): Promise<Alert[]> {
  if (ids.length === 0) return []
  const rows = await selectAlerts(db).where('al.id', 'in', ids).execute()
  const byId = new Map(rows.map((row) => [row.id, row.alert as Alert]))
  return ids.map((id) => byId.get(id)!)
}

export type AlertRepository = ReturnType<typeof alertRepository>

/** Reading alerts, and the one change a person makes to one: acknowledging it. Firing and resolving happen in the saves. */
export function alertRepository(db: Kysely<Database>, hooks: SaveHooks) {
  async function list(filter: AlertFilter): Promise<AlertPageResult> {
    let query = selectAlerts(db)
    if (filter.state?.length) query = query.where('al.state', 'in', filter.state)
    if (filter.area !== undefined) query = query.where('al.area_id', '=', filter.area)
    if (filter.incident !== undefined) query = query.where('al.incident_id', '=', filter.incident)
    if (filter.since) query = query.where('al.fired', '>=', filter.since)
    if (filter.cursor !== undefined) query = query.where('al.id', '<', filter.cursor)
    const rows = await query.orderBy('al.id', 'desc').limit(filter.limit + 1).execute()
    const page = rows.slice(0, filter.limit)
    return { alerts: page.map((row) => row.alert as Alert), nextCursor: rows.length > filter.limit ? page.at(-1)!.id : null }
  }

  async function get(id: number): Promise<Alert> {
    const row = await selectAlerts(db).where('al.id', '=', id).executeTakeFirst()
    if (!row) throw new NotFoundError('alert', id)
    return row.alert as Alert
  }

  async function summary(): Promise<AlertSummary> {
    const rows = await db
      .selectFrom('alerts')
      .select(['state', 'severity', sql<number>`count(*)::integer`.as('count')])
      .groupBy(['state', 'severity'])
      .execute()
    const byState: AlertSummary['by_state'] = { open: 0, acknowledged: 0, resolved: 0 }
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as AlertSummary['by_severity']
    for (const row of rows) {
      byState[row.state] += row.count
      if (row.state !== 'resolved') bySeverity[row.severity] += row.count
    }
    return { by_state: byState, by_severity: bySeverity }
  }

  /**
   * Open → acknowledged, by `actor`. Of several people acknowledging at
   * once, the first to lock the row wins; the others wait for its commit,
   * find the alert no longer open and are told who took it.
   */
  async function acknowledge(id: number, actor: Actor, note: string | null): Promise<Alert> {
    const alert = await db.transaction().execute(async (trx) => {
      const taken = await trx
        .updateTable('alerts')
        .set({ state: 'acknowledged', acknowledged_by_id: actor.id, acknowledged_by_name: actor.username, acknowledged_at: sql<Date>`now()`, note })
        .where('id', '=', id)
        .where('state', '=', 'open')
        .returning(['id', 'incident_id', 'area_id', 'area_name'])
        .executeTakeFirst()
      if (!taken) throw await refusal(trx, id)
      const [alert] = await alertsByIds(trx, [id])
      await writeNotifications(trx, [{ type: 'alert_update', alert: alert! }])
      await recordHistory(trx, [{
        subject_kind: 'incident', subject_id: taken.incident_id, action: 'alert_acknowledged', actor,
        changes: { state: { before: 'open', after: 'acknowledged' }, note: { before: null, after: note } },
        alert: { id, area_id: taken.area_id, area_name: alert!.area.name },
      }])
      return alert!
    })
    await hooks.postAlertUpdate(alert)
    return alert
  }

  /** Why an alert could not be acknowledged: it does not exist, someone took it first, or it no longer applies. */
  async function refusal(trx: Transaction<Database>, id: number): Promise<Error> {
    const row = await trx.selectFrom('alerts').select(['state', 'acknowledged_by_name', 'acknowledged_at', 'resolved_reason', 'resolved_at']).where('id', '=', id).executeTakeFirst()
    if (!row) return new NotFoundError('alert', id)
    if (row.state === 'acknowledged') {
      return new ConflictError('/id', id, `alert ${id} was already acknowledged by ${row.acknowledged_by_name} at ${new Date(row.acknowledged_at!).toISOString()}`)
    }
    return new ConflictError('/id', id, `alert ${id} is resolved (${row.resolved_reason?.replaceAll('_', ' ')} at ${new Date(row.resolved_at!).toISOString()}): there is nothing to acknowledge`)
  }

  return { list, get, summary, acknowledge }
}

