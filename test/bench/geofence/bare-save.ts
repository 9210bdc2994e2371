import pg from 'pg'
import type { Place } from './data.ts'
import { backendsCpuMs } from './cpu.ts'
import { closedLoop, type ClosedLoopOptions, type LoadResult } from './load.ts'

// The limit for POST /api/incidents: the very statements that
// incidentRepository.create() sends (as Kysely compiles them: same text, same
// parameters, same round trips, one transaction), issued by a plain pg Pool
// with no HTTP, no validation, no session lookup and no outbox relay. If the
// server's rate is close to this, the app adds little; if not, the gap is
// what the app costs.

const GEOFENCE_LOCK = 7_734_001 // server/repositories/geofence-lock.ts

const LOCK = 'SELECT pg_advisory_xact_lock_shared($1)'
const INSERT =
  'insert into "incidents" ("name", "description", "severity", "location", "reporter_id") values ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326), $5) returning "id"'
const SELECT_FEATURE =
  'select "i"."id", "i"."name", "i"."description", "i"."severity", "i"."closed", "i"."created", "i"."updated", "i"."version", "u"."username" as "reporter", ST_AsGeoJSON("i"."location", 9)::json as "geometry" from "incidents" as "i" left join "users" as "u" on "u"."id" = "i"."reporter_id" where "i"."id" = $1'
/** The alert rule's query (server/repositories/alert-rule.ts, areasAlertedByIncident). */
export const ALERT_QUERY =
  'select "a"."id", "a"."name", "a"."severity" from "incidents" as "i" inner join "areas_of_interest" as "a" on ST_Covers("a"."polygon", "i"."location") where "i"."id" = $1 and "i"."closed" = $2 and i.severity >= a.severity order by "a"."id"'
const insertNotifications = (rows: number) =>
  `insert into "notifications" ("type", "payload") values ${Array.from({ length: rows }, (_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`

interface FeatureRow {
  id: number; name: string; description: string; severity: string; closed: boolean
  created: Date; updated: Date; version: number; reporter: string | null; geometry: unknown
}

/** The feature and notification payloads the repository builds, so the outbox rows are as large as the app's. */
function feature(row: FeatureRow) {
  return {
    type: 'Feature', id: `incident:${row.id}`, geometry: row.geometry,
    properties: {
      id: row.id, kind: 'incident', name: row.name, description: row.description, severity: row.severity, closed: row.closed,
      created: row.created.toISOString(), updated: row.updated.toISOString(), reporter: row.reporter, version: row.version,
      url: `/api/incidents/${row.id}`,
    },
  }
}

/** One save of `place` exactly as the repository does it; returns how many areas it alerted. */
export async function bareSave(pool: pg.Pool, place: Place, description: string, reporterId: number | null): Promise<number> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    await client.query(LOCK, [GEOFENCE_LOCK])
    const { rows: [inserted] } = await client.query<{ id: number }>(INSERT, [
      place.name, description, place.severity, JSON.stringify({ type: 'Point', coordinates: [place.lon, place.lat] }), reporterId,
    ])
    const { rows: [row] } = await client.query<FeatureRow>(SELECT_FEATURE, [inserted!.id])
    const saved = feature(row!)
    const { rows: areas } = await client.query<{ id: number; name: string; severity: string }>(ALERT_QUERY, [inserted!.id, false])
    const bodies: object[] = [{ type: 'post_save', created: true, feature: saved }]
    if (areas.length) {
      bodies.push({ type: 'alert', feature: saved, areas_of_interest: areas.map((a) => ({ ...a, url: `/api/areas/${a.id}` })) })
    }
    const types = ['post_save', 'alert']
    await client.query(insertNotifications(bodies.length), bodies.flatMap((body, i) => [types[i], JSON.stringify(body)]))
    await client.query('commit')
    return areas.length
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

/**
 * Closed-loop bare saves against `url`, a warm-up and then the measured run,
 * on one pool as large as the concurrency (as the server's DB_POOL_SIZE is
 * to its connections). CPU is read with the pool still open, since a
 * backend's CPU time goes with it.
 */
export async function runBareSaves(
  url: string,
  places: Place[],
  load: { concurrency: number; warmup: Omit<ClosedLoopOptions, 'concurrency'>; measure: Omit<ClosedLoopOptions, 'concurrency'> },
): Promise<LoadResult & { alerted: number }> {
  const pool = new pg.Pool({ connectionString: url, max: load.concurrency })
  pool.on('error', () => {})
  const probe = new pg.Client({ connectionString: url })
  await probe.connect()
  try {
    // a user to report as, so the feature select's join finds a row, as it does for a signed-in operator
    const { rows: [user] } = await pool.query<{ id: number }>(
      `INSERT INTO users (username, password_hash, role) VALUES ('bench', 'x', 'operator')
       ON CONFLICT (username) DO UPDATE SET role = 'operator' RETURNING id`,
    )
    let alerted = 0
    const save = async (i: number) => {
      const place = places[i % places.length]!
      if ((await bareSave(pool, place, `benchmark incident in ${place.name}, ${place.state}`, user!.id)) > 0) alerted++
    }
    await closedLoop({ concurrency: load.concurrency, ...load.warmup }, save)
    alerted = 0
    const database = new URL(url).pathname.slice(1)
    const before = { client: process.cpuUsage(), db: await backendsCpuMs(probe, database) }
    const result = await closedLoop({ concurrency: load.concurrency, ...load.measure }, save)
    const client = process.cpuUsage(before.client)
    const db = (await backendsCpuMs(probe, database)) - before.db
    return { ...result, alerted, clientCpuMs: (client.user + client.system) / 1000 / result.completed, dbCpuMs: db / result.completed }
  } finally {
    await probe.end()
    await pool.end()
  }
}
