import { sql, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { AreaRef } from '../../contracts/notifications.ts'
import { covers } from '../../db/postgis.ts'
import { areaUrl, selectIncidents, type IncidentSelection } from './feature-rows.ts'

// The alert rule (DESIGN.md): an open incident alerts an area when it lies in
// the area's polygon (boundary included) and its severity is at or above the
// area's threshold. The `severity` enum is declared lowest first, so `>=` on
// it is exactly "at or above".
//
// A save alerts only the pairs that the rule did not already match before the
// save: so a text edit alerts nothing, a move into a new area alerts just that
// area, and a new or redrawn area alerts just the incidents newly inside it.

/** Areas the incident alerts as it stands in the database now (inside `trx`). */
export async function areasAlertedByIncident(trx: Transaction<Database>, incidentId: number): Promise<AreaRef[]> {
  const rows = await trx
    .selectFrom('incidents as i')
    .innerJoin('areas_of_interest as a', (join) => join.on(covers('a.polygon', 'i.location')))
    .select(['a.id', 'a.name', 'a.severity'])
    .where('i.id', '=', incidentId)
    .where('i.closed', '=', false)
    .where(sql<boolean>`i.severity >= a.severity`)
    .orderBy('a.id')
    .execute()
  return rows.map((a) => ({ id: a.id, name: a.name, severity: a.severity, url: areaUrl(a.id) }))
}

/** Ids of the incidents that alert the area as it stands in the database now. */
export async function incidentIdsAlertingArea(trx: Transaction<Database>, areaId: number): Promise<Set<number>> {
  return new Set((await incidentsAlertingArea(trx, areaId)).map((i) => i.id))
}

export async function incidentsAlertingArea(trx: Transaction<Database>, areaId: number): Promise<IncidentSelection[]> {
  return (await selectIncidents(trx)
    .innerJoin('areas_of_interest as a', (join) => join.on(covers('a.polygon', 'i.location')))
    .where('a.id', '=', areaId)
    .where('i.closed', '=', false)
    .where(sql<boolean>`i.severity >= a.severity`)
    .orderBy('i.id')
    .execute()) as IncidentSelection[]
}

export function newlyAlerted(before: AreaRef[], after: AreaRef[]): AreaRef[] {
  const seen = new Set(before.map((a) => a.id))
  return after.filter((a) => !seen.has(a.id))
}
