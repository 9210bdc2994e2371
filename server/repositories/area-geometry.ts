import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { findUnclosedRing, findWideRing, type AreaGeometry } from '../../contracts/geojson.ts'
import { geomFromGeoJSON, validityDetail, validityReason } from '../../db/postgis.ts'
import { InvalidFieldError, InvalidGeometryError } from '../errors.ts'

/**
 * PostGIS's (GEOS's) reasons a polygon is invalid, in words for the person
 * who drew it. The problem's `detail` keeps PostGIS's own text for API
 * clients; the field's `message` carries these, and its `location` where.
 */
const REASON_WORDS: Record<string, string> = {
  'Self-intersection': 'the outline crosses itself',
  'Ring Self-intersection': 'the outline touches itself',
  'Hole lies outside shell': 'a hole lies outside the outline',
  'Nested holes': 'a hole lies inside another hole',
  'Interior is disconnected': 'the holes cut the area in pieces',
  'Nested shells': 'one part of the area lies inside another',
  'Duplicate Rings': 'an outline is repeated',
  'Too few distinct points in geometry component': 'an outline needs at least three distinct corners',
  'Too few points in geometry component': 'an outline needs at least three distinct corners',
  'Invalid Coordinate': 'a corner has an invalid coordinate',
  'Ring is not closed': 'the outline is not closed',
}

/** Refuses an unclosed ring, a ring wider than 180° of longitude or an invalid polygon, naming PostGIS's reason and where, before anything is written. */
export async function assertValidAreaGeometry(db: Kysely<Database>, geometry: AreaGeometry): Promise<void> {
  const unclosed = findUnclosedRing(geometry)
  if (unclosed) {
    throw new InvalidFieldError(
      `/geometry${unclosed.path}`,
      unclosed.last,
      `geometry ring ${unclosed.path} is not closed: it starts at [${unclosed.first}] but ends at [${unclosed.last}]`,
    )
  }
  const wide = findWideRing(geometry)
  if (wide) {
    throw new InvalidFieldError(
      `/geometry${wide.path}`,
      wide.span,
      `geometry ring ${wide.path} spans ${wide.span}° of longitude (from ${wide.west} to ${wide.east}), more than 180°: ` +
        'if the area crosses the antimeridian, cut it at ±180 into a MultiPolygon, as RFC 7946 §3.1.9 asks',
    )
  }
  const { reason, detail } = await db
    .selectNoFrom([validityReason(geomFromGeoJSON(geometry)).as('reason'), validityDetail(geomFromGeoJSON(geometry)).as('detail')])
    .executeTakeFirstOrThrow()
  if (detail.valid) return
  const words = REASON_WORDS[detail.reason ?? ''] ?? detail.reason ?? 'the shape is not valid'
  throw new InvalidGeometryError('/geometry', geometry.type, `geometry is not a valid ${geometry.type}: ${reason}`, words, detail.location?.coordinates)
}
