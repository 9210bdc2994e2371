import { Type, type Static } from 'typebox'
import { Severity } from './severity.ts'
import { Position } from './geojson.ts'
import type { IncidentFeature } from './features.ts'

// The dashboard's first load reads every incident (up to 50 000). As GeoJSON
// each one repeats its keys, `"type":"Feature"`, the geometry's type, the
// kind and the url: most of its bytes say nothing new. The rows below carry
// the same values in a fixed order and nothing derivable, so the payload is
// much smaller, and both the server and the browser spend less time writing
// and parsing it. `incidentFromRow` gives back the exact feature
// GET /api/incidents would have sent.

export const INCIDENT_ROW_COLUMNS = ['id', 'coordinates', 'name', 'description', 'severity', 'closed', 'created', 'updated', 'reporter', 'updated_by', 'version'] as const

export const IncidentRow = Type.Tuple(
  [
    Type.Integer(),
    Position,
    Type.String(),
    Type.String(),
    Severity,
    Type.Boolean(),
    Type.String({ format: 'date-time' }),
    Type.String({ format: 'date-time' }),
    Type.Union([Type.String(), Type.Null()]),
    Type.Union([Type.String(), Type.Null()]),
    Type.Integer({ minimum: 1 }),
  ],
  { description: `one incident: [${INCIDENT_ROW_COLUMNS.join(', ')}], the values of its feature's properties and [longitude, latitude]` },
)
export type IncidentRow = Static<typeof IncidentRow>

export const IncidentRowsPage = Type.Object({
  columns: Type.Array(Type.String(), { description: 'what each row holds, in order' }),
  rows: Type.Array(IncidentRow),
  next_cursor: Type.Union([Type.Integer(), Type.Null()], {
    description: 'pass as `cursor` to get the next page; null on the last page',
  }),
})
export type IncidentRowsPage = Static<typeof IncidentRowsPage>

export const PageCursors = Type.Object({
  cursors: Type.Array(Type.Union([Type.Integer(), Type.Null()]), {
    description: 'the `cursor` of each page in order (null: the first page, no cursor), so all pages can be asked for at once',
  }),
})
export type PageCursors = Static<typeof PageCursors>

/** The incident feature a row stands for, exactly as the GeoJSON endpoints describe it. */
export function incidentFromRow([id, coordinates, name, description, severity, closed, created, updated, reporter, updated_by, version]: IncidentRow): IncidentFeature {
  return {
    type: 'Feature',
    id: `incident:${id}`,
    geometry: { type: 'Point', coordinates },
    properties: { id, kind: 'incident', name, description, severity, closed, created, updated, reporter, updated_by, version, url: `/api/incidents/${id}` },
  }
}
