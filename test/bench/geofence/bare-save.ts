import pg from 'pg'
import { BEGIN, COMMIT, sendPipelined, StatementNames } from '../../../db/pipeline.ts'
import { sqlCompiler } from '../../helpers/sql-compiler.ts'
import { geofenceSharedLock } from '../../../server/repositories/geofence-lock.ts'
import { incidentInsertTemplate } from '../../../server/repositories/incident-save.ts'
import type { Place } from './data.ts'
import { backendsCpuMs } from './cpu.ts'
import { closedLoop, type ClosedLoopOptions, type LoadResult } from './load.ts'

// The limit for POST /api/incidents: the very statements that
// incidentRepository.create() sends (from the repository's own compiled
// template, so the text cannot drift from the app's), in the same
// one-round-trip transaction (begin, the shared geofence lock, the save
// statement, commit, written together in one write on a pipelining
// connection by the app's own sendPipelined, the statements with parameters
// prepared once per connection as the app's are: db/connect.ts), from a
// plain pg Pool with no HTTP, no validation, no session lookup and no outbox
// relay. If the server's rate is close to this, the app adds little; if not,
// the gap is what the app costs.

/** The alert rule's check for a saved incident, by itself (what the save statement's `alerted` part does for the new row). */
export const ALERT_QUERY =
  'select "a"."id", "a"."name", "a"."severity" from "incidents" as "i" inner join "areas_of_interest" as "a" on ST_Covers("a"."polygon", "i"."location") where "i"."id" = $1 and "i"."closed" = $2 and i.severity >= a.severity order by "a"."id"'

/** The statements of one save, compiled once from the repository's own template (server/repositories/incident-save.ts). */
function compileSave() {
  const insert = incidentInsertTemplate(sqlCompiler)
  return {
    lock: geofenceSharedLock.compile(sqlCompiler),
    statement: (place: Place, description: string, reporterId: number | null) =>
      insert({
        name: place.name,
        description,
        severity: place.severity,
        closed: false,
        geometry: JSON.stringify({ type: 'Point', coordinates: [place.lon, place.lat] }),
        reporterId,
      }),
  }
}

const SAVE = compileSave()
/** prepared once per connection under these names, as the app's pool does */
const names = new StatementNames()

/** One save of `place` exactly as the repository does it; resolves when it is committed. */
export async function bareSave(pool: pg.Pool, place: Place, description: string, reporterId: number | null): Promise<void> {
  const client = await pool.connect()
  try {
    // written together in one write, answered together: one round trip, sent by the app's own code (db/pipeline.ts)
    await sendPipelined(client, [BEGIN, SAVE.lock, SAVE.statement(place, description, reporterId), COMMIT], names)
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
  // pipelining, as the server's pool is (db/connect.ts)
  const pool = new pg.Pool({ connectionString: url, max: load.concurrency, pipeline: true })
  pool.on('error', () => {})
  const probe = new pg.Client({ connectionString: url })
  await probe.connect()
  try {
    // a user to report as, so the feature select's join finds a row, as it does for a signed-in operator
    const { rows: [user] } = await pool.query<{ id: number }>(
      `INSERT INTO users (username, password_hash, role) VALUES ('bench', 'x', 'operator')
       ON CONFLICT (username) DO UPDATE SET role = 'operator' RETURNING id`,
    )
    const save = async (i: number) => {
      const place = places[i % places.length]!
      await bareSave(pool, place, `benchmark incident in ${place.name}, ${place.state}`, user!.id)
    }
    const alerts = async () => Number((await probe.query<{ n: string }>(`SELECT count(*) AS n FROM notifications WHERE type = 'alert'`)).rows[0]!.n)
    await closedLoop({ concurrency: load.concurrency, ...load.warmup }, save)
    const alertsBefore = await alerts()
    const database = new URL(url).pathname.slice(1)
    const before = { client: process.cpuUsage(), db: await backendsCpuMs(probe, database) }
    const result = await closedLoop({ concurrency: load.concurrency, ...load.measure }, save)
    const client = process.cpuUsage(before.client)
    const db = (await backendsCpuMs(probe, database)) - before.db
    const alerted = (await alerts()) - alertsBefore
    return { ...result, alerted, clientCpuMs: (client.user + client.system) / 1000 / result.completed, dbCpuMs: db / result.completed }
  } finally {
    await probe.end()
    await pool.end()
  }
}
