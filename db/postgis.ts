import { sql, type Expression, type RawBuilder } from 'kysely'
import type { BBox } from '../contracts/geojson.ts'

// The few PostGIS operations the app needs, typed once. Everything is SRID
// 4326 (WGS84 longitude/latitude), as RFC 7946 GeoJSON is.

type GeometryRef = string | Expression<unknown>

const ref = (g: GeometryRef) => (typeof g === 'string' ? sql.ref(g) : g)

/** A GeoJSON geometry object as a PostGIS geometry in SRID 4326. */
export function geomFromGeoJSON(geometry: object): RawBuilder<unknown> {
  return geomFromGeoJSONText(JSON.stringify(geometry))
}

/** The same from the geometry's JSON text: one parameter, passed as is (db/statement-template.ts). */
export function geomFromGeoJSONText(json: string): RawBuilder<unknown> {
  return sql`ST_SetSRID(ST_GeomFromGeoJSON(${json}), 4326)`
}

/** A geometry column as a parsed GeoJSON geometry (nine decimals: ~0.1 mm). */
export function asGeoJSON<T>(geometry: GeometryRef): RawBuilder<T> {
  return sql<T>`ST_AsGeoJSON(${ref(geometry)}, 9)::json`
}

export function envelope([minLon, minLat, maxLon, maxLat]: BBox): RawBuilder<unknown> {
  return sql`ST_MakeEnvelope(${minLon}, ${minLat}, ${maxLon}, ${maxLat}, 4326)`
}

/** True when `inner` lies inside `outer` or on its boundary; uses the GiST index of either side. */
export function covers(outer: GeometryRef, inner: GeometryRef): RawBuilder<boolean> {
  return sql<boolean>`ST_Covers(${ref(outer)}, ${ref(inner)})`
}

export function intersects(a: GeometryRef, b: GeometryRef): RawBuilder<boolean> {
  return sql<boolean>`ST_Intersects(${ref(a)}, ${ref(b)})`
}

/** 'Valid Geometry', or PostGIS's reason, e.g. 'Self-intersection[0.5 0.5]'. */
export function validityReason(geometry: GeometryRef): RawBuilder<string> {
  return sql<string>`ST_IsValidReason(${ref(geometry)})`
}

/** PostGIS's reason a geometry is invalid and where it lies (`ST_IsValidDetail`): e.g. where an outline crosses itself. */
export interface ValidityDetail {
  valid: boolean
  /** e.g. 'Self-intersection' (null when valid) */
  reason: string | null
  /** a GeoJSON Point (null when valid, or when PostGIS names no place) */
  location: { type: 'Point'; coordinates: [number, number] } | null
}

export function validityDetail(geometry: GeometryRef): RawBuilder<ValidityDetail> {
  return sql<ValidityDetail>`(SELECT json_build_object('valid', d.valid, 'reason', d.reason, 'location', ST_AsGeoJSON(d.location, 9)::json)
    FROM ST_IsValidDetail(${ref(geometry)}) AS d)`
}
