import { performance } from 'node:perf_hooks'
import booleanPointInPolygon from '@turf/boolean-point-in-polygon'
import { severityRank } from '../../../contracts/severity.ts'
import { percentile } from '../harness/stats.ts'
import type { County, Place } from './data.ts'
import type { LoadResult } from './load.ts'

// What a simple app would do instead of a spatial database: keep every area
// polygon in memory and test each new incident against each of them. No
// bounding boxes, no index: turf's booleanPointInPolygon only skips a polygon
// early when the feature carries a `bbox`, and GeoJSON from topojson-client
// does not.

/** FIPS codes of the counties `place` alerts under the alert rule (boundary counts as inside). */
export function naiveAlerts(counties: County[], place: Place): string[] {
  const point = [place.lon, place.lat]
  const rank = severityRank(place.severity)
  const hits: string[] = []
  for (const county of counties) {
    if (booleanPointInPolygon(point, county.geometry) && rank >= severityRank(county.severity)) hits.push(county.fips)
  }
  return hits
}

/**
 * Checks back to back on this thread (JavaScript runs them one at a time
 * whatever the concurrency, so there is nothing to overlap): checks/s and
 * the latency of one check.
 */
export function runNaiveChecks(counties: County[], places: Place[], load: { amount?: number; durationMs?: number }): LoadResult & { alerted: number } {
  const samples: number[] = []
  let alerted = 0
  const begin = performance.now()
  const deadline = load.durationMs === undefined ? Infinity : begin + load.durationMs
  for (let i = 0; (load.amount === undefined || i < load.amount) && performance.now() < deadline; i++) {
    const t0 = performance.now()
    if (naiveAlerts(counties, places[i % places.length]!).length) alerted++
    samples.push(performance.now() - t0)
  }
  const seconds = (performance.now() - begin) / 1000
  return { rate: samples.length / seconds, p50: percentile(samples, 50), p99: percentile(samples, 99), completed: samples.length, errors: 0, alerted }
}
