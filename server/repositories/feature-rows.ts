import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { AreaGeometry, Point } from '../../contracts/geojson.ts'
import type { AreaFeature, IncidentFeature } from '../../contracts/features.ts'
import type { Severity } from '../../contracts/severity.ts'
import { asGeoJSON } from '../../db/postgis.ts'

type Db = Kysely<Database> | Transaction<Database>

// One select per model that yields everything a feature needs, so a list, a
// save and a notification all describe an item the same way.

export function selectIncidents(db: Db) {
  return db
    .selectFrom('incidents as i')
    .leftJoin('users as u', 'u.id', 'i.reporter_id')
    .select([
      'i.id', 'i.name', 'i.description', 'i.severity', 'i.closed', 'i.created', 'i.updated', 'i.version',
      'u.username as reporter',
      asGeoJSON<Point>('i.location').as('geometry'),
    ])
}

export function selectAreas(db: Db) {
  return db
    .selectFrom('areas_of_interest as a')
    .leftJoin('users as u', 'u.id', 'a.owner_id')
    .select([
      'a.id', 'a.name', 'a.severity', 'a.created', 'a.updated', 'a.version',
      'u.username as owner',
      asGeoJSON<AreaGeometry>('a.polygon').as('geometry'),
    ])
}

export interface IncidentSelection {
  id: number; name: string; description: string; severity: Severity; closed: boolean
  created: Date; updated: Date; version: number; reporter: string | null; geometry: Point
}

export interface AreaSelection {
  id: number; name: string; severity: Severity
  created: Date; updated: Date; version: number; owner: string | null; geometry: AreaGeometry
}

export const incidentUrl = (id: number) => `/api/incidents/${id}`
export const areaUrl = (id: number) => `/api/areas/${id}`

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
      version: row.version,
      url: areaUrl(row.id),
    },
  }
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString()

/** A page of `limit` rows fetched as `limit + 1`: the extra row only says there is a next page. */
export function toPage<R extends { id: number }, F>(rows: R[], limit: number, toFeature: (row: R) => F): { features: F[]; nextCursor: number | null } {
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  return { features: page.map(toFeature), nextCursor: more ? page[page.length - 1]!.id : null }
}
