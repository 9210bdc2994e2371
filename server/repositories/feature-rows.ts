import { sql, type Expression, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { AreaGeometry, Point } from '../../contracts/geojson.ts'
import type { AreaFeature, IncidentFeature } from '../../contracts/features.ts'
import type { Severity } from '../../contracts/severity.ts'
import { asGeoJSON } from '../../db/postgis.ts'

type Db = Kysely<Database> | Transaction<Database>

// One select per model that yields everything a feature needs, so a list, a
// save and a notification all describe an item the same way.

/** Incidents with their reporter and last editor (PostgreSQL drops a join where nothing of it is used). */
export function incidentsWithReporter(db: Db) {
  return db.selectFrom('incidents as i').leftJoin('users as u', 'u.id', 'i.reporter_id').leftJoin('users as ub', 'ub.id', 'i.updated_by_id')
}

export function selectIncidents(db: Db) {
  return incidentsWithReporter(db)
    .select([
      'i.id', 'i.name', 'i.description', 'i.severity', 'i.closed', 'i.created', 'i.updated', 'i.version',
      'u.username as reporter',
      'ub.username as updated_by',
      asGeoJSON<Point>('i.location').as('geometry'),
    ])
}

export function selectAreas(db: Db) {
  return db
    .selectFrom('areas_of_interest as a')
    .leftJoin('users as u', 'u.id', 'a.owner_id')
    .leftJoin('users as ub', 'ub.id', 'a.updated_by_id')
    .select([
      'a.id', 'a.name', 'a.severity', 'a.created', 'a.updated', 'a.version',
      'a.escalate_after_minutes', 'a.escalation_user_ids', 'a.escalation_webhook_ids',
      'u.username as owner',
      'ub.username as updated_by',
      asGeoJSON<AreaGeometry>('a.polygon').as('geometry'),
    ])
}

export interface IncidentSelection {
  id: number; name: string; description: string; severity: Severity; closed: boolean
  created: Date; updated: Date; version: number; reporter: string | null; updated_by: string | null; geometry: Point
}

export interface AreaSelection {
  id: number; name: string; severity: Severity
  created: Date; updated: Date; version: number; owner: string | null; updated_by: string | null; geometry: AreaGeometry
  escalate_after_minutes: number | null; escalation_user_ids: number[]; escalation_webhook_ids: number[]
}

export const INCIDENTS_PATH = '/api/incidents/'
export const AREAS_PATH = '/api/areas/'
export const incidentUrl = (id: number) => `${INCIDENTS_PATH}${id}`
export const areaUrl = (id: number) => `${AREAS_PATH}${id}`

export function toIncidentFeature(row: IncidentSelection): IncidentFeature {
  return {
    type: 'Feature',
    id: `incident:${row.id}`,
    geometry: row.geometry,
    properties: {
      id: row.id,
      kind: 'incident',
      name: row.name,
      description: row.description,
      severity: row.severity,
      closed: row.closed,
      created: iso(row.created),
      updated: iso(row.updated),
      reporter: row.reporter,
      updated_by: row.updated_by,
      version: row.version,
      url: incidentUrl(row.id),
    },
  }
}

export function toAreaFeature(row: AreaSelection): AreaFeature {
  return {
    type: 'Feature',
    id: `area:${row.id}`,
    geometry: row.geometry,
    properties: {
      id: row.id,
      kind: 'area',
      name: row.name,
      severity: row.severity,
      created: iso(row.created),
      updated: iso(row.updated),
      owner: row.owner,
      updated_by: row.updated_by,
      escalate_after_minutes: row.escalate_after_minutes,
      escalation_contacts: { users: row.escalation_user_ids, webhooks: row.escalation_webhook_ids },
      version: row.version,
      url: areaUrl(row.id),
    },
  }
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString()

/**
 * The feature toIncidentFeature() makes, built by PostgreSQL as jsonb from a
 * row with the columns of `incidents` (by alias), so that a save can write it
 * into the outbox in the same statement. A test holds the two to the same
 * output.
 */
export function incidentFeatureJson(row: string, reporter: Expression<string | null>, updatedBy: Expression<string | null>): RawBuilder<IncidentFeature> {
  const column = (name: string) => sql.ref(`${row}.${name}`)
  return sql<IncidentFeature>`jsonb_build_object(
    'type', 'Feature',
    'id', 'incident:' || ${column('id')},
    'geometry', ${asGeoJSON(`${row}.location`)},
    'properties', jsonb_build_object(
      'id', ${column('id')}, 'kind', 'incident', 'name', ${column('name')}, 'description', ${column('description')},
      'severity', ${column('severity')}, 'closed', ${column('closed')},
      'created', ${isoTimestamp(column('created'))}, 'updated', ${isoTimestamp(column('updated'))},
      'reporter', ${reporter}, 'updated_by', ${updatedBy}, 'version', ${column('version')},
      'url', ${sql.lit(INCIDENTS_PATH)} || ${column('id')}))`
}

/** An area as AreaRef (alert payloads), built by PostgreSQL from a row with `id`, `name` and `severity`. */
export function areaRefJson(row: string): RawBuilder<object> {
  const column = (name: string) => sql.ref(`${row}.${name}`)
  return sql`jsonb_build_object('id', ${column('id')}, 'name', ${column('name')}, 'severity', ${column('severity')}, 'url', ${sql.lit(AREAS_PATH)} || ${column('id')})`
}

/** A timestamptz as Date.prototype.toISOString() writes the Date the driver reads from it (UTC, milliseconds truncated). */
export function isoTimestamp(timestamp: Expression<unknown>): RawBuilder<string> {
  return sql<string>`to_char(${timestamp} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
}

/** A page of `limit` rows fetched as `limit + 1`: the extra row only says there is a next page. */
/** A page as the repositories return it; the routes answer it as a FeaturePage (contracts/features.ts). */
export interface Page<T> {
  features: T[]
  nextCursor: number | null
}

export function toPage<R extends { id: number }, F>(rows: R[], limit: number, toFeature: (row: R) => F): Page<F> {
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  return { features: page.map(toFeature), nextCursor: more ? page[page.length - 1]!.id : null }
}
