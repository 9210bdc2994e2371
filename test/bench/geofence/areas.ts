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
 * TopoJSON simplification leaves some rings self-touching, which the table's
 * ST_IsValid check refuses: ST_MakeValid repairs them, and
 * ST_CollectionExtract(…, 3) keeps only the polygonal part when the repair
 * yields a GeometryCollection (the table takes only (Multi)Polygons). Returns
 * how many rows were inserted.
 */
export async function loadAreas(db: Queryable, counties: County[]): Promise<number> {
  const rows = counties.map((c) => ({ name: `${c.name} (${c.fips})`, severity: c.severity, geometry: c.geometry }))
  const result = (await db.query(
    `INSERT INTO areas_of_interest (name, severity, polygon)
     SELECT name, severity::severity, polygon
       FROM (SELECT r.name, r.severity,
                    ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(r.geometry), 4326)), 3) AS polygon
               FROM json_to_recordset($1::json) AS r (name text, severity text, geometry text)) AS made
      WHERE NOT ST_IsEmpty(polygon)
     RETURNING id`,
    [JSON.stringify(rows.map((r) => ({ ...r, geometry: JSON.stringify(r.geometry) })))],
  )) as { rows: unknown[] }
  // the planner needs real statistics for the areas table, as a long-running database would have
  await db.query('ANALYZE areas_of_interest')
  return result.rows.length
}
