import { Type, type Static } from 'typebox'

// RFC 7946: a position is [longitude, latitude] in WGS84. We take no altitude:
// the map is 2D and PostGIS would otherwise store a 3D point we never show.
export const Longitude = Type.Number({ minimum: -180, maximum: 180, description: 'longitude, degrees east' })
export const Latitude = Type.Number({ minimum: -90, maximum: 90, description: 'latitude, degrees north' })
export const Position = Type.Tuple([Longitude, Latitude], { description: '[longitude, latitude]' })
export type Position = Static<typeof Position>

// A linear ring has at least 4 positions and ends where it starts; JSON Schema
// cannot say "ends where it starts", so `findUnclosedRing` checks that.
export const LinearRing = Type.Array(Position, { minItems: 4, maxItems: 100_000 })

export const Point = Type.Object(
  { type: Type.Literal('Point'), coordinates: Position },
  { additionalProperties: false },
)
export type Point = Static<typeof Point>

export const Polygon = Type.Object(
  { type: Type.Literal('Polygon'), coordinates: Type.Array(LinearRing, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
)
export type Polygon = Static<typeof Polygon>

export const MultiPolygon = Type.Object(
  {
    type: Type.Literal('MultiPolygon'),
    coordinates: Type.Array(Type.Array(LinearRing, { minItems: 1, maxItems: 1000 }), { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: false },
)
export type MultiPolygon = Static<typeof MultiPolygon>

export const AreaGeometry = Type.Union([Polygon, MultiPolygon])
export type AreaGeometry = Static<typeof AreaGeometry>

/** `[minLon, minLat, maxLon, maxLat]` */
export type BBox = [number, number, number, number]

export interface UnclosedRing {
  /** JSON pointer of the ring inside the geometry, e.g. `/coordinates/0` */
  path: string
  first: Position
  last: Position
}

export function findUnclosedRing(geometry: AreaGeometry): UnclosedRing | undefined {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates
  const prefix = (p: number) => (geometry.type === 'Polygon' ? '/coordinates' : `/coordinates/${p}`)
  for (const [p, rings] of polygons.entries()) {
    for (const [r, ring] of rings.entries()) {
      const first = ring[0]!
      const last = ring[ring.length - 1]!
      if (first[0] !== last[0] || first[1] !== last[1]) return { path: `${prefix(p)}/${r}`, first, last }
    }
  }
  return undefined
}

export interface WideRing {
  /** JSON pointer of the ring inside the geometry, e.g. `/coordinates/0` */
  path: string
  west: number
  east: number
  /** east - west, in degrees */
  span: number
}

/**
 * The first ring wider than 180° of longitude. RFC 7946 reads every edge as
 * a straight line in longitude/latitude, so a ring drawn across the
 * antimeridian (170 → -170) is the 340°-wide band on the other side of the
 * world; §3.1.9 asks the sender to cut such a shape at ±180 into a
 * MultiPolygon instead. A ring this wide is almost always that mistake, so it
 * is refused rather than guessed at.
 */
export function findWideRing(geometry: AreaGeometry): WideRing | undefined {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates
  const prefix = (p: number) => (geometry.type === 'Polygon' ? '/coordinates' : `/coordinates/${p}`)
  for (const [p, rings] of polygons.entries()) {
    for (const [r, ring] of rings.entries()) {
      let west = Infinity
      let east = -Infinity
      for (const [lon] of ring) {
        if (lon < west) west = lon
        if (lon > east) east = lon
      }
      if (east - west > 180) return { path: `${prefix(p)}/${r}`, west, east, span: east - west }
    }
  }
  return undefined
}
