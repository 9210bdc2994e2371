import { Type } from 'typebox'
import type { BBox } from '../../contracts/geojson.ts'
import { SEVERITIES, Severity } from '../../contracts/severity.ts'
import { InvalidFieldError } from '../errors.ts'

export const ListQuery = {
  bbox: Type.Optional(Type.String({ description: 'minLon,minLat,maxLon,maxLat', examples: ['-74.3,40.5,-73.7,40.9'] })),
  // bounded: each becomes a statement parameter, and past 65 535 of them PostgreSQL refuses the statement
  severity: Type.Optional(Type.Array(Severity, { maxItems: SEVERITIES.length, description: 'repeat the key for several: severity=high&severity=urgent' })),
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  cursor: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: '`next_cursor` of the previous page' })),
}

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'the version the change was based on, e.g. "3" (as in the ETag)' })),
})

export function parseBBox(value: string | undefined): BBox | undefined {
  if (value === undefined) return undefined
  const parts = value.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)))
  const fail = (why: string): never => {
    throw new InvalidFieldError('/bbox', value, `bbox ${why} (got ${JSON.stringify(value)})`, 'querystring')
  }
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) fail('must be four numbers: minLon,minLat,maxLon,maxLat')
  const [minLon, minLat, maxLon, maxLat] = parts as BBox
  if ([minLon, maxLon].some((x) => x < -180 || x > 180)) fail('longitudes must be within -180..180')
  if ([minLat, maxLat].some((y) => y < -90 || y > 90)) fail('latitudes must be within -90..90')
  if (minLon > maxLon || minLat > maxLat) fail('must have min before max')
  return [minLon, minLat, maxLon, maxLat]
}

/** The version a change is based on: `properties.version`, else the If-Match header. */
export function expectedVersion(bodyVersion: number | undefined, ifMatch: string | undefined): number | undefined {
  if (bodyVersion !== undefined) return bodyVersion
  if (ifMatch === undefined) return undefined
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(ifMatch.trim())
  if (!match) throw new InvalidFieldError('/if-match', ifMatch, `If-Match must be a version such as "3" (got ${JSON.stringify(ifMatch)})`, 'headers')
  return Number(match[1])
}

/** An RFC 3339 instant PostgreSQL and JavaScript agree on (no leap seconds, years 1..9999). */
export function parseSince(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const date = new Date(value)
  const year = date.getUTCFullYear()
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new InvalidFieldError('/since', value, `since must be a date-time between years 1 and 9999 (got ${JSON.stringify(value)})`, 'querystring')
  }
  return date
}

export const etag = (version: number) => `"${version}"`
