import type { County } from './data.ts'

/** What both a pg Client and a PGlite instance offer: enough to load areas into either. */
export interface Queryable {
  query(text: string, params?: unknown[]): Promise<unknown>
}

/**
 * Loads the counties straight into areas_of_interest with one INSERT … SELECT
 * (thousands of POST /api/areas would take minutes and measure area saves,
 * not incident saves).
 *
 * TopoJSON simplification leaves some rings self-touching or collapsed to
 * too few points, which the table's ST_IsValid check refuses: ST_MakeValid
 * repairs them. 'method=structure' (GEOS ≥ 3.10) rather than the default
 * 'linework' because on PGlite (PostGIS 3.6.2 in WASM) 'linework' silently
 * ends the statement at some of these counties, returning the rows so far
 * and no error. ST_CollectionExtract(…, 3) keeps only the polygonal part
 * (the table takes only (Multi)Polygons). Returns how many rows were
 * inserted: the caller compares it with what it asked for.
 */
export async function loadAreas(db: Queryable, counties: County[]): Promise<number> {
  const rows = counties.map((c) => ({ name: `${c.name} (${c.fips})`, severity: c.severity, geometry: c.geometry }))
  const result = (await db.query(
    `INSERT INTO areas_of_interest (name, severity, polygon)
     SELECT name, severity::severity, polygon
       FROM (SELECT r.name, r.severity,
                    ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(r.geometry), 4326), 'method=structure'), 3) AS polygon
               FROM json_to_recordset($1::json) AS r (name text, severity text, geometry text)) AS made
      WHERE NOT ST_IsEmpty(polygon)
     RETURNING id`,
    [JSON.stringify(rows.map((r) => ({ ...r, geometry: JSON.stringify(r.geometry) })))],
  )) as { rows: unknown[] }
  // the planner needs real statistics for the areas table, as a long-running database would have
  await db.query('ANALYZE areas_of_interest')
  return result.rows.length
}
