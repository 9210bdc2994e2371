import { performance } from 'node:perf_hooks'
import Flatbush from 'flatbush'
import booleanPointInPolygon from '@turf/boolean-point-in-polygon'
import type { MultiPolygon, Polygon, Position } from 'geojson'
import { severityRank } from '../../../contracts/severity.ts'
import { percentile } from '../harness/stats.ts'
import type { County, Place } from './data.ts'
import type { LoadResult } from './load.ts'

// The strongest in-process alternative to the PostGIS alert query: a static
// R-tree (flatbush) over each county's bounding box, then the exact
// point-in-polygon test (turf) only on the few counties whose box holds the
// point, and the severity threshold. What an app that kept its areas in
// memory would do, rather than test every polygon.

export interface AreaIndex {
  /** FIPS codes of the counties `place` alerts under the alert rule (boundary counts as inside) */
  alerts(place: Place): string[]
  /** how long building the index took (a static index is rebuilt whenever an area changes) */
  buildMs: number
}

export function buildAreaIndex(counties: County[]): AreaIndex {
  const begin = performance.now()
  const index = new Flatbush(Math.max(1, counties.length))
  const ranks = counties.map((c) => severityRank(c.severity))
  for (const county of counties) {
    const [minX, minY, maxX, maxY] = bbox(county.geometry)
    index.add(minX, minY, maxX, maxY)
  }
  if (counties.length === 0) index.add(0, 0, 0, 0)
  index.finish()
  const buildMs = performance.now() - begin
  return {
    buildMs,
    alerts(place) {
      const rank = severityRank(place.severity)
      const point = [place.lon, place.lat]
      const hits: string[] = []
      for (const i of index.search(place.lon, place.lat, place.lon, place.lat)) {
        const county = counties[i]
        // the threshold first: it is a comparison, the polygon test is not
        if (county && rank >= ranks[i]! && booleanPointInPolygon(point, county.geometry)) hits.push(county.fips)
      }
      return hits
    },
  }
}

function bbox(geometry: Polygon | MultiPolygon): [number, number, number, number] {
  let minX = Infinity
  let minY = Infinity
  let maxX = -Infinity
  let maxY = -Infinity
  const rings: Position[][] = geometry.type === 'Polygon' ? geometry.coordinates : geometry.coordinates.flat()
  for (const ring of rings) {
    for (const [x, y] of ring) {
      if (x! < minX) minX = x!
      if (y! < minY) minY = y!
      if (x! > maxX) maxX = x!
      if (y! > maxY) maxY = y!
    }
  }
  return [minX, minY, maxX, maxY]
}

/** Checks back to back on this thread: checks/s and the latency of one check. */
export function runIndexedChecks(index: AreaIndex, places: Place[], load: { amount?: number; durationMs?: number }): LoadResult & { alerted: number } {
  const samples: number[] = []
  let alerted = 0
  const begin = performance.now()
  const deadline = load.durationMs === undefined ? Infinity : begin + load.durationMs
  for (let i = 0; (load.amount === undefined || i < load.amount) && performance.now() < deadline; i++) {
    const t0 = performance.now()
    if (index.alerts(places[i % places.length]!).length) alerted++
    samples.push(performance.now() - t0)
  }
  const seconds = (performance.now() - begin) / 1000
  return { rate: samples.length / seconds, p50: percentile(samples, 50), p99: percentile(samples, 99), completed: samples.length, errors: 0, alerted }
}
