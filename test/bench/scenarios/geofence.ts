import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { createClient } from 'redis'
import { openDatabase } from '../../../db/connect.ts'
import { migrateToLatest } from '../../../db/migrate.ts'
import { createDatabase } from '../../helpers/postgres.ts'
import { signIn, spawnServer, type ServerProcess } from '../../helpers/server-process.ts'
import type { BenchOptions, Row, Scenario, ScenarioResult } from '../harness/report.ts'
import { median } from '../harness/report.ts'
import { loadAreas } from '../geofence/areas.ts'
import { ALERT_QUERY, runBareSaves } from '../geofence/bare-save.ts'
import { Cleanup, stopServer } from '../geofence/cleanup.ts'
import { machineLoad } from '../geofence/machine.ts'
import { incidentBody, loadCounties, loadPlaces, type County, type Place } from '../geofence/data.ts'
import { copyDatabase, withClient } from '../geofence/databases.ts'
import { explainAlertQuery, type PlanSummary } from '../geofence/explain.ts'
import { postIncidents } from '../geofence/http-load.ts'
import { closedLoop, type LoadResult } from '../geofence/load.ts'
import { naiveAlerts, runNaiveChecks } from '../geofence/naive.ts'

// Save with geofence: how many POST /api/incidents per second the server
// sustains when every save runs the alert rule against the 3 231 real US
// county polygons and writes its outbox rows, next to what the same SQL does
// without the app (the limit), without the GiST index, without a database at
// all (turf in memory), and on the embedded default.

const CONNECTIONS = 10
/** PGlite is one backend: more connections only queue inside the server and inflate latency */
const EMBEDDED_CONNECTIONS = 2
const ADMIN_PASSWORD = 'geofence-bench-password'
/** a Redis database of our own, away from the tests' 1, 2, … (see test/helpers/redis.ts) */
const REDIS_DB = 13
const TARGET_RATIO = 0.7
const TARGET_P99_MS = 25

interface Size {
  counties?: number
  /** per measured run: a fixed count (tiny) or a duration */
  amount?: number
  seconds?: number
  warmup: { amount?: number; seconds?: number }
  explainSample: number
  agreementSample: number
}

const TINY: Size = { counties: 50, amount: 50, warmup: { amount: 10 }, explainSample: 5, agreementSample: 20 }
const FULL: Size = { seconds: 15, warmup: { seconds: 3 }, explainSample: 50, agreementSample: 300 }

const SUBJECT = {
  server: `our server (PostGIS, HTTP, ${CONNECTIONS} connections)`,
  bare: `bare SQL of one save (pg Pool, ${CONNECTIONS} concurrent)`,
  noGist: `bare SQL without the GiST index (${CONNECTIONS} concurrent)`,
  embedded: `our server (embedded PGlite, HTTP, ${EMBEDDED_CONNECTIONS} connections)`,
  queryGist: 'PostGIS alert query alone (GiST, 1 connection)',
  queryNoGist: 'PostGIS alert query alone (no GiST, 1 connection)',
  turf: 'naive in-process turf, every polygon (1 thread)',
}

export const geofence: Scenario = {
  name: 'geofence',
  title: 'Save with geofence: POST /api/incidents against the US county polygons',
  run,
}

async function run(options: BenchOptions): Promise<ScenarioResult[]> {
  // elapsed time on every line: where a run spends its time is part of what it reports
  const began = performance.now()
  const loadBefore = loadavg()[0]!
  const log = (line: string) => options.log(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${line}`)
  const size = options.tiny ? TINY : FULL
  const counties = loadCounties(size.counties)
  // tiny: the first 50 counties are all in Alabama, so take Alabama's places and most saves still alert
  const places = loadPlaces(options.tiny ? { withinStatesOf: counties } : {})
  const bodies = places.map(incidentBody)
  log(`${counties.length} counties, ${places.length} places`)

  const cleanup = new Cleanup(log)
  try {
    const setup = await prepare(counties, cleanup, log)
    const saves = new Map<string, LoadResult[]>()
    const checks = new Map<string, LoadResult[]>()
    // the 1-minute load average after each run: on a shared 2-core machine, other work skews every number
    const loads: number[] = []
    const record = (table: Map<string, LoadResult[]>, subject: string, result: LoadResult) => {
      if (result.errors) log(`${subject}: ${result.errors} errors (first: ${result.firstError})`)
      if (result.completed === 0) throw new Error(`${subject}: nothing completed (${result.firstError ?? 'no error'})`)
      table.set(subject, [...(table.get(subject) ?? []), result])
      loads.push(loadavg()[0]!)
      log(`${subject}: ${result.rate.toFixed(1)}/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms (${result.completed} done; load average ${loads.at(-1)!.toFixed(1)})`)
    }
    const load = { amount: size.amount, durationMs: size.seconds === undefined ? undefined : size.seconds * 1000 }
    const warmup = { amount: size.warmup.amount, durationMs: size.warmup.seconds === undefined ? undefined : size.warmup.seconds * 1000 }
    const http = (server: ServerProcess & { key: string }, connections: number, budget: { amount?: number; durationMs?: number }) =>
      postIncidents({
        url: server.url, sessionKey: server.key, bodies, connections,
        amount: budget.amount, durationSeconds: budget.durationMs === undefined ? undefined : budget.durationMs / 1000,
      })

    let backlog = 0
    for (let round = 1; round <= options.rounds; round++) {
      log(`round ${round}/${options.rounds}`)
      await http(setup.server, CONNECTIONS, warmup)
      record(saves, SUBJECT.server, await http(setup.server, CONNECTIONS, load))
      // let the relay publish everything before the next subject takes the CPU
      backlog = Math.max(backlog, await drainOutbox(setup.serverDb))

      await runBareSaves(setup.bareDb, places, { concurrency: CONNECTIONS, ...warmup })
      record(saves, SUBJECT.bare, await runBareSaves(setup.bareDb, places, { concurrency: CONNECTIONS, ...load }))
      await runBareSaves(setup.noGistDb, places, { concurrency: CONNECTIONS, ...warmup })
      record(saves, SUBJECT.noGist, await runBareSaves(setup.noGistDb, places, { concurrency: CONNECTIONS, ...load }))

      await http(setup.embedded, EMBEDDED_CONNECTIONS, warmup)
      record(saves, SUBJECT.embedded, await http(setup.embedded, EMBEDDED_CONNECTIONS, load))

      record(checks, SUBJECT.queryGist, await alertQueryAlone(setup.bareDb, load))
      record(checks, SUBJECT.queryNoGist, await alertQueryAlone(setup.noGistDb, load))
      runNaiveChecks(counties, places, warmup)
      record(checks, SUBJECT.turf, runNaiveChecks(counties, places, load))
    }

    const plans = {
      gist: await withClient(setup.bareDb, (c) => explainAlertQuery(c, size.explainSample)),
      noGist: await withClient(setup.noGistDb, (c) => explainAlertQuery(c, size.explainSample)),
    }
    const outcome = await withClient(setup.serverDb, outboxOutcome)
    const agreement = await checkAgreement(setup.bareDb, counties, places.slice(0, size.agreementSample))
    return report({ options, counties, places, saves, checks, plans, outcome, agreement, backlog, loadBefore, loads, loaded: setup.loaded })
  } finally {
    await cleanup.runAll()
  }
}

interface Setup {
  serverDb: string
  bareDb: string
  noGistDb: string
  loaded: number
  server: ServerProcess & { key: string }
  embedded: ServerProcess & { key: string }
}

/**
 * One PostgreSQL database migrated and loaded with the counties, two copies
 * of it for the bare-SQL subjects (one without the GiST index), a server on
 * the original, and a server on a fresh embedded folder loaded the same way.
 */
async function prepare(counties: County[], cleanup: Cleanup, log: (line: string) => void): Promise<Setup> {
  const source = await createDatabase()
  cleanup.add(`drop ${source.name}`, source.drop)
  const loaded = await migrateAndLoad({ databaseUrl: source.url }, counties)
  if (loaded !== counties.length) log(`note: ${counties.length - loaded} counties were empty after repair and were skipped`)
  // copies before the server connects: a template must have no sessions
  const bare = await copyDatabase(source.name)
  cleanup.add(`drop ${bare.name}`, bare.drop)
  const noGist = await copyDatabase(source.name)
  cleanup.add(`drop ${noGist.name}`, noGist.drop)
  await withClient(noGist.url, (c) => c.query('DROP INDEX areas_polygon'))

  const redisUrl = await freshRedis(cleanup)
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-geofence-'))
  cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }))

  const [server, embeddedLoaded] = await Promise.all([
    startSignedIn({ DATABASE_URL: source.url, REDIS_URL: redisUrl, DB_POOL_SIZE: String(CONNECTIONS) }, cleanup),
    // the server's embedded database lives in DATA_DIR/pglite (server/embedded/data-dir.ts)
    migrateAndLoad({ dataDir: join(dataDir, 'pglite') }, counties),
  ])
  log(`loaded ${loaded} areas into PostgreSQL, ${embeddedLoaded} into PGlite; server on PostgreSQL up`)
  const embedded = await startSignedIn({ DATA_DIR: dataDir }, cleanup)
  log('server on PGlite up')
  return { serverDb: source.url, bareDb: bare.url, noGistDb: noGist.url, loaded, server, embedded }
}

/** Migrates through the app's own migrations and loads the areas with SQL, on either backend. */
async function migrateAndLoad(where: { databaseUrl?: string; dataDir?: string }, counties: County[]): Promise<number> {
  const handle = await openDatabase({ databaseUrl: where.databaseUrl, dataDir: where.dataDir ?? 'memory://', poolSize: 1 })
  try {
    await migrateToLatest(handle.db)
    return await loadAreas({ query: (text, params) => handle.db.executeQuery(CompiledQuery.raw(text, params ?? [])) }, counties)
  } finally {
    await handle.close()
  }
}

async function startSignedIn(env: Record<string, string>, cleanup: Cleanup): Promise<ServerProcess & { key: string }> {
  const server = await spawnServer({ ADMIN_PASSWORD, ...env })
  cleanup.add(`stop server ${server.url}`, () => stopServer(server))
  await server.healthy()
  return Object.assign(server, { key: await signIn(server.url, 'admin', ADMIN_PASSWORD) })
}

/** Our Redis database, with no `notifications` stream from an earlier run (removed again at the end). */
async function freshRedis(cleanup: Cleanup): Promise<string> {
  const url = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
  url.pathname = `/${REDIS_DB}`
  const removeStream = async () => {
    const client = createClient({ url: url.toString() })
    await client.connect()
    try {
      await client.del('notifications')
    } finally {
      await client.close()
    }
  }
  await removeStream()
  cleanup.add('remove the notifications stream', removeStream)
  return url.toString()
}

/** Waits (bounded) until the relay has published every outbox row; returns the backlog found at the end of the load. */
async function drainOutbox(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const count = async () => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM notifications WHERE published IS NULL')).rows[0]!.n)
    const backlog = await count()
    const deadline = Date.now() + 60_000
    while ((await count()) > 0) {
      if (Date.now() > deadline) throw new Error('the outbox relay did not catch up within 60 s')
      await sleep(100)
    }
    return backlog
  })
}

/** The alert query by itself for incidents already saved: what the geofence costs inside PostgreSQL, per check. */
async function alertQueryAlone(url: string, load: { amount?: number; durationMs?: number }): Promise<LoadResult> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  pool.on('error', () => {})
  try {
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM incidents ORDER BY id')
    const ids = rows.map((r) => r.id)
    await closedLoop({ concurrency: 1, amount: Math.min(20, ids.length) }, async (i) => void (await pool.query(ALERT_QUERY, [ids[i % ids.length], false])))
    return await closedLoop({ concurrency: 1, ...load }, async (i) => void (await pool.query(ALERT_QUERY, [ids[i % ids.length], false])))
  } finally {
    await pool.end()
  }
}

interface OutboxOutcome {
  saves: number
  alerts: number
  unpublished: number
}

async function outboxOutcome(client: pg.Client): Promise<OutboxOutcome> {
  const { rows: [row] } = await client.query<{ saves: string; alerts: string; unpublished: string }>(`
    SELECT count(*) FILTER (WHERE type = 'post_save') AS saves,
           count(*) FILTER (WHERE type = 'alert') AS alerts,
           count(*) FILTER (WHERE published IS NULL) AS unpublished
      FROM notifications`)
  return { saves: Number(row!.saves), alerts: Number(row!.alerts), unpublished: Number(row!.unpublished) }
}

/**
 * The naive check must find what PostGIS finds, or its speed means nothing:
 * compares the alerted counties of each sampled place (turf on the raw
 * polygons, PostGIS on the repaired ones, so a rare point right on a
 * repaired edge may differ).
 */
async function checkAgreement(url: string, counties: County[], sample: Place[]): Promise<{ same: number; total: number }> {
  return withClient(url, async (client) => {
    let same = 0
    for (const place of sample) {
      const { rows } = await client.query<{ name: string }>(
        `SELECT name FROM areas_of_interest
          WHERE ST_Covers(polygon, ST_SetSRID(ST_MakePoint($1, $2), 4326)) AND $3::severity >= severity`,
        [place.lon, place.lat, place.severity],
      )
      // names are "Name (FIPS)": the FIPS identifies the county
      const postgis = rows.map((r) => /\((\d{5})\)$/.exec(r.name)![1]!).sort().join(',')
      if (postgis === naiveAlerts(counties, place).sort().join(',')) same++
    }
    return { same, total: sample.length }
  })
}

interface ReportInput {
  options: BenchOptions
  counties: County[]
  places: Place[]
  saves: Map<string, LoadResult[]>
  checks: Map<string, LoadResult[]>
  plans: { gist: PlanSummary; noGist: PlanSummary }
  outcome: OutboxOutcome
  agreement: { same: number; total: number }
  backlog: number
  loadBefore: number
  loads: number[]
  loaded: number
}

function report(input: ReportInput): ScenarioResult[] {
  const rows = (table: Map<string, LoadResult[]>, rate: string): Row[] =>
    [...table].map(([subject, results]) => ({
      subject,
      values: { [rate]: results.map((r) => r.rate), p50: results.map((r) => r.p50), p99: results.map((r) => r.p99) },
    }))
  const rateOf = (table: Map<string, LoadResult[]>, subject: string) => median(table.get(subject)!.map((r) => r.rate))
  const ours = rateOf(input.saves, SUBJECT.server)
  const bare = rateOf(input.saves, SUBJECT.bare)
  const oursP99 = median(input.saves.get(SUBJECT.server)!.map((r) => r.p99))
  const budget = input.options.tiny ? `${TINY.amount} requests per subject` : `${FULL.seconds} s per subject`
  const { gist, noGist } = input.plans
  const alertShare = input.outcome.saves ? (100 * input.outcome.alerts) / input.outcome.saves : NaN

  return [
    {
      scenario: 'geofence',
      case: `save with geofence: ${input.loaded} US county areas, ${input.places.length} US places, ${budget}`,
      units: { 'saves/s': 'saves per second', p50: 'ms', p99: 'ms' },
      rows: rows(input.saves, 'saves/s'),
      ratios: [
        { label: 'ours / bare SQL, saves/s', value: ours / bare },
        { label: 'bare SQL / bare SQL without GiST, saves/s', value: bare / rateOf(input.saves, SUBJECT.noGist) },
        { label: 'ours on PostGIS / ours on embedded PGlite, saves/s', value: ours / rateOf(input.saves, SUBJECT.embedded) },
      ],
      targets: [
        { label: 'ours / bare SQL', value: ours / bare, goal: `≥ ${TARGET_RATIO}×`, met: ours / bare >= TARGET_RATIO },
        { label: `p99 of ours at ${ours.toFixed(0)} saves/s`, value: oursP99, goal: `< ${TARGET_P99_MS} ms`, met: oursP99 < TARGET_P99_MS },
      ],
      notes: [
        'Every save is the full POST /api/incidents: session lookup, validation, one transaction (shared advisory lock, insert, feature select, ' +
          'alert query, outbox insert), then the post-save hook waking the outbox relay, which publishes to Redis. Closed loop: each connection ' +
          'sends its next request when the last is answered; latency is per request as the client sees it.',
        `Bare SQL runs the same statements (as Kysely compiles them) in the same transaction from a pg Pool of ${CONNECTIONS}, on a copy of the ` +
          'same database; the no-GiST copy has areas_polygon dropped. Load generator, server and PostgreSQL share the machine.',
        `Saves by the server: ${input.outcome.saves}, of which ${alertShare.toFixed(0)}% alerted at least one county ` +
          `(thresholds cycle through all severities); outbox backlog when the load stopped: ${input.backlog} rows, all published afterwards ` +
          `(${input.outcome.unpublished} left at the end).`,
        `EXPLAIN ANALYZE of the alert query (${gist.incidents} saved incidents): ${gist.areasAccess}, mean ${gist.meanMs.toFixed(3)} ms, ` +
          `max ${gist.maxMs.toFixed(3)} ms, ${gist.meanCandidates.toFixed(1)} area rows tested exactly per incident; without GiST: ` +
          `${noGist.areasAccess}, mean ${noGist.meanMs.toFixed(3)} ms, max ${noGist.maxMs.toFixed(3)} ms, ${noGist.meanCandidates.toFixed(0)} rows tested.`,
        `The embedded default runs at ${EMBEDDED_CONNECTIONS} connections: PGlite is a single backend, more connections would only queue.`,
        machineLoad(input.loadBefore, input.loads),
      ],
    },
    {
      scenario: 'geofence',
      case: `alert check alone: one point against ${input.counties.length} county polygons, one at a time`,
      units: { 'checks/s': 'checks per second', p50: 'ms', p99: 'ms' },
      rows: rows(input.checks, 'checks/s'),
      ratios: [
        { label: 'PostGIS alert query (GiST) / naive turf, checks/s', value: rateOf(input.checks, SUBJECT.queryGist) / rateOf(input.checks, SUBJECT.turf) },
      ],
      targets: [],
      notes: [
        'The PostGIS rows run the alert query of the save for incidents already saved, over one connection (round trip included); ' +
          'turf tests the point against every polygon in memory on this thread, as an app without a spatial index would.',
        `turf and PostGIS alert the same counties for ${input.agreement.same} of ${input.agreement.total} sampled places.`,
      ],
    },
  ]
}
