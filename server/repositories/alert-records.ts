import { sql, type RawBuilder } from 'kysely'
import type { Alert } from '../../contracts/alerts.ts'
import { AREAS_PATH, INCIDENTS_PATH, isoTimestamp } from './feature-rows.ts'

// An alert record as the API and the `alert_update` frame show it
// (contracts/alerts.ts), built by PostgreSQL, so that a save can write it
// into the outbox in the statement that changes it, and a list is one query.

/**
 * The incident part of an alert, from a row with the columns of `incidents`
 * by alias; NULL when the row is NULL (the incident was deleted, or a LEFT
 * JOIN found none).
 */
export function alertIncidentJson(row: string): RawBuilder<unknown> {
  const column = (name: string) => sql.ref(`${row}.${name}`)
  return sql`CASE WHEN ${column('id')} IS NULL THEN NULL ELSE jsonb_build_object(
    'id', ${column('id')}, 'name', ${column('name')}, 'severity', ${column('severity')}, 'closed', ${column('closed')},
    'url', ${sql.lit(INCIDENTS_PATH)} || ${column('id')}) END`
}

/**
 * The alert item from an `alerts` row (by alias), the incident part (see
 * alertIncidentJson, or NULL), and optionally an `areas_of_interest` row (by
 * alias, possibly NULL): the area as it is, or as the alert kept it.
 */
export function alertJson(alert: string, incident: RawBuilder<unknown>, area?: string): RawBuilder<Alert> {
  const column = (name: string) => sql.ref(`${alert}.${name}`)
  const current = (name: string, kept: string) => (area ? sql`COALESCE(${sql.ref(`${area}.${name}`)}, ${column(kept)})` : column(kept))
  return sql<Alert>`jsonb_build_object(
    'id', ${column('id')}, 'state', ${column('state')}, 'fired', ${isoTimestamp(column('fired'))}, 'severity', ${column('severity')},
    'incident', ${incident},
    'area', jsonb_build_object('id', ${column('area_id')}, 'name', ${current('name', 'area_name')},
      'severity', ${current('severity', 'area_severity')}, 'url', ${sql.lit(AREAS_PATH)} || ${column('area_id')}),
    'acknowledged_by', CASE WHEN ${column('acknowledged_by_name')} IS NULL THEN NULL
      ELSE jsonb_build_object('id', ${column('acknowledged_by_id')}, 'username', ${column('acknowledged_by_name')}) END,
    'acknowledged_at', ${isoTimestamp(column('acknowledged_at'))}, 'note', ${column('note')},
    'resolved_at', ${isoTimestamp(column('resolved_at'))}, 'resolved_reason', ${column('resolved_reason')})`
}

/** `{"before": …, "after": …}` of two SQL values. */
export const change = (before: RawBuilder<unknown> | null, after: RawBuilder<unknown> | null) =>
  sql`jsonb_build_object('before', ${before ?? sql`NULL::jsonb`}, 'after', ${after ?? sql`NULL::jsonb`})`

/** An alert's state before it was resolved: resolving keeps who acknowledged it. */
export const stateBeforeResolve = (alert: string) =>
  sql`to_jsonb(CASE WHEN ${sql.ref(`${alert}.acknowledged_at`)} IS NULL THEN 'open' ELSE 'acknowledged' END)`
