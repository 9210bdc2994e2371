import { sql, type RawBuilder, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { covers } from '../../db/postgis.ts'
import { selectIncidents, type IncidentSelection } from './feature-rows.ts'

// The alert rule (docs/api.md, "Alert rule"): an open incident alerts an
// area when it lies in the area's polygon (boundary included) and its
// severity is at or above the area's threshold. The `severity` enum is
// declared lowest first, so `>=` on it is exactly "at or above".
//
// A save alerts only the pairs that the rule did not already match before the
// save: so a text edit alerts nothing, a move into a new area alerts just that
// area, and a new or redrawn area alerts just the incidents newly inside it.

/**
 * The rule as a join condition between an incident row and an area row, named
 * by alias; the incident side needs `closed`, `location` and `severity`.
 * Every query of the rule uses this, so there is one definition of it.
 */
export function alertRule(incident: string, area: string): RawBuilder<boolean> {
  return sql<boolean>`NOT ${sql.ref(`${incident}.closed`)}
    AND ${covers(`${area}.polygon`, `${incident}.location`)}
    AND ${sql.ref(`${incident}.severity`)} >= ${sql.ref(`${area}.severity`)}`
}

/** Ids of the areas the incident alerts as it stands in the statement's snapshot. */
export function areaIdsAlertedByIncident(incidentId: number): RawBuilder<{ id: number }> {
  return sql`SELECT a.id FROM incidents AS i JOIN areas_of_interest AS a ON ${alertRule('i', 'a')} WHERE i.id = ${incidentId}`
}

/** Ids of the incidents that alert the area as it stands in the database now. */
export async function incidentIdsAlertingArea(trx: Transaction<Database>, areaId: number): Promise<Set<number>> {
  return new Set((await incidentsAlertingArea(trx, areaId)).map((i) => i.id))
}

export async function incidentsAlertingArea(trx: Transaction<Database>, areaId: number): Promise<IncidentSelection[]> {
  return (await selectIncidents(trx)
    .innerJoin('areas_of_interest as a', (join) => join.on(alertRule('i', 'a')))
    .where('a.id', '=', areaId)
    .orderBy('i.id')
    .execute()) as IncidentSelection[]
}
