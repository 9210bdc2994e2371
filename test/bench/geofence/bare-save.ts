import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { openDatabase } from '../../../db/connect.ts'
import { GroupCommit } from '../../../db/group-commit.ts'
import { pipelinedTransaction } from '../../../db/pipeline.ts'
import { geofenceSharedLock } from '../../../server/repositories/geofence-lock.ts'
import { incidentInsertTemplate } from '../../../server/repositories/incident-save.ts'
import { MAX_CREATE_GROUP } from '../../../server/repositories/incidents.ts'
import type { Place } from './data.ts'
import { postgresCpuMs } from './cpu.ts'
import { closedLoop, type ClosedLoopOptions, type LoadResult } from './load.ts'

// The limit for POST /api/incidents: the very statements that
// incidentRepository.create() sends (from the repository's own compiled
// template, so the text cannot drift from the app's), in the same
// one-round-trip transaction (begin, the shared geofence lock, the save
// statement, commit, written together in one write on a pipelining
// connection, prepared once per connection: the app's own database handle,
// db/connect.ts), with no HTTP, no validation, no session lookup and no outbox
// relay. If the server's rate is close to this, the app adds little; if not,
// the gap is what the app costs.
//
// One save per transaction is the limit the benchmark's target is set
// against. With `groupCommit`, the saves go through the server's own group
// commit instead (db/group-commit.ts, that many transactions in flight):
// the limit of the server's design, shown beside it.

/** The alert rule's check for a saved incident, by itself (what the save statement's `alerted` part does for the new row). */
export const ALERT_QUERY =
  'select "a"."id", "a"."name", "a"."severity" from "incidents" as "i" inner join "areas_of_interest" as "a" on ST_Covers("a"."polygon", "i"."location") where "i"."id" = $1 and "i"."closed" = $2 and i.severity >= a.severity order by "a"."id"'

/**
 * Closed-loop bare saves against `url`, a warm-up and then the measured run,
 * on one pool as large as the concurrency (as the server's DB_POOL_SIZE is
 * to its connections).
 */
export async function runBareSaves(
  url: string,
  places: Place[],
  load: { concurrency: number; groupCommit?: number; warmup: Omit<ClosedLoopOptions, 'concurrency'>; measure: Omit<ClosedLoopOptions, 'concurrency'> },
): Promise<LoadResult & { alerted: number }> {
  // the server's own pipelining pool and its pipeliner (db/connect.ts)
  const handle = await openDatabase({ databaseUrl: url, dataDir: 'unused', poolSize: load.concurrency })
  const probe = new pg.Client({ connectionString: url })
  await probe.connect()
  try {
    const lock = geofenceSharedLock.compile(handle.db)
    const insert = incidentInsertTemplate(handle.db)
    const group = load.groupCommit ? new GroupCommit(handle.db, { prefix: [lock], inFlight: load.groupCommit, maxGroup: MAX_CREATE_GROUP }) : undefined
    // a user to report as, so the feature select's join finds a row, as it does for a signed-in operator
    const { rows: [user] } = await handle.db.executeQuery<{ id: number }>(CompiledQuery.raw(
      `INSERT INTO users (username, password_hash, role) VALUES ('bench', 'x', 'operator')
       ON CONFLICT (username) DO UPDATE SET role = 'operator' RETURNING id`,
    ))
    const save = async (i: number) => {
      const place = places[i % places.length]!
      const statement = insert({
        name: place.name,
        description: `benchmark incident in ${place.name}, ${place.state}`,
        severity: place.severity,
        closed: false,
        geometry: JSON.stringify({ type: 'Point', coordinates: [place.lon, place.lat] }),
        reporterId: user!.id,
        updatedById: user!.id,
      })
      if (group) await group.submit(statement)
      else await pipelinedTransaction(handle.db, [lock, statement])
    }
    const alerts = async () => Number((await probe.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE type = 'alert'`)).rows[0]!.n)
    await closedLoop({ concurrency: load.concurrency, ...load.warmup }, save)
    const alertsBefore = await alerts()
    const before = { client: process.cpuUsage(), db: await postgresCpuMs(probe) }
    const result = await closedLoop({ concurrency: load.concurrency, ...load.measure }, save)
    const client = process.cpuUsage(before.client)
    const db = (await postgresCpuMs(probe)) - before.db
    const alerted = (await alerts()) - alertsBefore
    return { ...result, alerted, clientCpuMs: (client.user + client.system) / 1000 / result.completed, dbCpuMs: db / result.completed }
  } finally {
    await probe.end()
    await handle.close()
  }
}
