import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase } from '../../helpers/postgres.ts'
import { loadConfig } from '../../../server/config.ts'
import { signIn, spawnServer, type ServerProcess } from '../../helpers/server-process.ts'
import type { BenchOptions, Row, Scenario, ScenarioResult } from '../harness/report.ts'
import { median } from '../harness/report.ts'
import { ALERT_QUERY, runBareSaves } from '../geofence/bare-save.ts'
import { Cleanup, stopServer } from '../geofence/cleanup.ts'
import { groupCpuMs, postgresCpuMs } from '../geofence/cpu.ts'
import { incidentBody, loadCounties, loadPlaces, type County, type Place } from '../geofence/data.ts'
import { copyDatabase, withClient } from '../geofence/databases.ts'
import { explainAlertQuery, type PlanSummary } from '../geofence/explain.ts'
import { postIncidents } from '../geofence/http-load.ts'
import { closedLoop, type LoadResult } from '../geofence/load.ts'
import { machineLoad } from '../geofence/machine.ts'
import { migrateAndLoad } from '../geofence/migrate-and-load.ts'
import { naiveAlerts, runNaiveChecks } from '../geofence/naive.ts'
import { pacedPosts } from '../geofence/paced-load.ts'
import { prepareEmbedded } from '../geofence/prepare-embedded.ts'

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
/** the server's default DB_SAVE_CONCURRENCY (server/config.ts), for the bare-SQL row that groups saves as the server does */
const SAVE_CONCURRENCY = loadConfig({}).dbSaveConcurrency
const TARGET_P99_MS = 25

/** a fixed count of operations, or a duration */
interface Budget {
  amount?: number
  durationMs?: number
}

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
  serverHalf: `our server paced at half that rate (PostGIS, HTTP, open loop, ≤ ${CONNECTIONS} connections)`,
  bare: `bare SQL of one save (pg Pool, ${CONNECTIONS} concurrent)`,
  bareGrouped: `bare SQL, group commit as the server's (${SAVE_CONCURRENCY} transactions in flight, ${CONNECTIONS} concurrent)`,
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
    const load: Budget = { amount: size.amount, durationMs: size.seconds === undefined ? undefined : size.seconds * 1000 }
    const warmup: Budget = { amount: size.warmup.amount, durationMs: size.warmup.seconds === undefined ? undefined : size.warmup.seconds * 1000 }

    const outbox: string[] = []
    const settle = async (subject: string) => {
      // what the relay had not yet published when the load stopped, and how long it took to catch up:
      // a save is committed at once, its notifications reach Redis only then
      const state = await drainOutbox(setup.server.databaseUrl!)
      outbox.push(`${subject}: ${state.rows} rows unpublished when the load stopped, the oldest ${state.oldestS.toFixed(1)} s old; published within ${state.drainS.toFixed(1)} s`)
      log(outbox.at(-1)!)
    }
    for (let round = 1; round <= options.rounds; round++) {
      log(`round ${round}/${options.rounds}`)
      // Ours and the bare rows back to back: the ratio the target is set on compares runs seconds apart,
      // whatever else the machine is doing. Ours goes first in odd rounds and last in even ones, so that
      // neither side is always the one that runs after a pause (or after the other's leftover work).
      const bareRows = async () => {
        record(saves, SUBJECT.bare, await runBareSaves(setup.bareDb, places, { concurrency: CONNECTIONS, warmup, measure: load }))
        record(saves, SUBJECT.bareGrouped, await runBareSaves(setup.bareDb, places, { concurrency: CONNECTIONS, groupCommit: SAVE_CONCURRENCY, warmup, measure: load }))
      }
      if (round % 2 === 0) await bareRows()
      const ours = await measureServer(setup.server, bodies, CONNECTIONS, { warmup, measure: load })
      record(saves, SUBJECT.server, ours)
      await settle(SUBJECT.server)
      if (round % 2 === 1) await bareRows()
      // the same server paced at half the rate it just sustained: a save's latency when the server is not saturated
      record(saves, SUBJECT.serverHalf, await measureServer(setup.server, bodies, CONNECTIONS, { measure: load, pacedRate: Math.max(1, ours.rate / 2) }))
      await settle(SUBJECT.serverHalf)

      record(saves, SUBJECT.noGist, await runBareSaves(setup.noGistDb, places, { concurrency: CONNECTIONS, warmup, measure: load }))
      record(saves, SUBJECT.embedded, await measureServer(setup.embedded, bodies, EMBEDDED_CONNECTIONS, { warmup, measure: load }))

      record(checks, SUBJECT.queryGist, await alertQueryAlone(setup.bareDb, load))
      record(checks, SUBJECT.queryNoGist, await alertQueryAlone(setup.noGistDb, load))
      runNaiveChecks(counties, places, warmup)
      record(checks, SUBJECT.turf, runNaiveChecks(counties, places, load))
    }

    const plans = {
      gist: await withClient(setup.bareDb, (c) => explainAlertQuery(c, size.explainSample)),
      noGist: await withClient(setup.noGistDb, (c) => explainAlertQuery(c, size.explainSample)),
    }
    const outcome = await withClient(setup.server.databaseUrl!, saveOutcome)
    const agreement = await checkAgreement(setup.bareDb, counties, places.slice(0, size.agreementSample))
    return report({ options, counties, places, saves, checks, plans, outcome, agreement, outbox, loadBefore, loads, loaded: setup.loaded })
  } finally {
    await cleanup.runAll()
  }
}

interface Setup {
  bareDb: string
  noGistDb: string
  loaded: number
  server: RunningServer
  embedded: RunningServer
}

/**
 * One PostgreSQL database migrated and loaded with the counties, two copies
 * of it for the bare-SQL subjects (one without the GiST index), a server on
 * the original, and a server on a fresh embedded folder loaded the same way.
 */
async function prepare(counties: County[], cleanup: Cleanup, log: (line: string) => void): Promise<Setup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-geofence-'))
  cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }))
  // the embedded folder takes longest (initdb and PostGIS in WASM): start it first, in its own process
  const preparing = new AbortController()
  cleanup.add('stop preparing the embedded folder', async () => preparing.abort())
  const embeddedLoading = prepareEmbedded(dataDir, counties.length, { signal: preparing.signal })
  // observed at once so that a PostgreSQL failure below does not leave it rejected and unhandled
  embeddedLoading.catch(() => {})

  const source = await createDatabase()
  cleanup.add(`drop ${source.name}`, source.drop)
  const loaded = await migrateAndLoad({ databaseUrl: source.url }, counties)
  if (loaded !== counties.length) log(`note: ${counties.length - loaded} counties were empty after repair and were skipped`)
  // Left to itself, PostgreSQL would vacuum and analyze the freshly loaded
  // table (and write it out) during the first measured runs, charging the
  // first subject for it: done now, before the copies, which inherit it.
  await withClient(source.url, async (c) => {
    await c.query('VACUUM ANALYZE')
    await c.query('CHECKPOINT')
  })
  // copies before the server connects: a template must have no sessions
  const bare = await copyDatabase(source.name)
  cleanup.add(`drop ${bare.name}`, bare.drop)
  const noGist = await copyDatabase(source.name)
  cleanup.add(`drop ${noGist.name}`, noGist.drop)
  await withClient(noGist.url, (c) => c.query('DROP INDEX areas_polygon'))
  const redisUrl = await freshRedis(cleanup)
  const server = await startSignedIn({ DATABASE_URL: source.url, REDIS_URL: redisUrl, DB_POOL_SIZE: String(CONNECTIONS) }, cleanup)
  log(`${loaded} areas in PostgreSQL; server on PostgreSQL up`)

  const embeddedLoaded = await embeddedLoading
  // fewer rows on one side would compare different workloads: refuse rather than report it
  if (embeddedLoaded !== loaded) throw new Error(`loaded ${loaded} areas into PostgreSQL but ${embeddedLoaded} into PGlite`)
  const embedded = await startSignedIn({ DATA_DIR: dataDir }, cleanup)
  log(`${embeddedLoaded} areas in PGlite; server on PGlite up`)
  return { bareDb: bare.url, noGistDb: noGist.url, loaded, server, embedded }
}

async function startSignedIn(env: Record<string, string>, cleanup: Cleanup): Promise<RunningServer> {
  const server = await spawnServer({ ADMIN_PASSWORD, ...env })
  cleanup.add(`stop server ${server.url}`, () => stopServer(server))
  await server.healthy()
  return Object.assign(server, { key: await signIn(server.url, 'admin', ADMIN_PASSWORD), databaseUrl: env.DATABASE_URL })
}

type RunningServer = ServerProcess & { key: string; databaseUrl?: string }

/**
 * POST /api/incidents against a running server: an optional warm-up, then
 * the measured run (autocannon's closed loop, or paced at `pacedRate`), with
 * the CPU per save of the load generator (this process), of the server's
 * process group and (on PostgreSQL) of its database backends.
 */
async function measureServer(
  server: RunningServer,
  bodies: string[],
  connections: number,
  budgets: { warmup?: Budget; measure: Budget; pacedRate?: number },
): Promise<LoadResult> {
  const { warmup, measure, pacedRate } = budgets
  const unpaced = (budget: Budget) =>
    postIncidents({
      url: server.url, sessionKey: server.key, bodies, connections,
      amount: budget.amount, durationSeconds: budget.durationMs === undefined ? undefined : budget.durationMs / 1000,
    })
  if (warmup) await unpaced(warmup)
  const database = server.databaseUrl
  const backends = async () => (database ? withClient(database, postgresCpuMs) : NaN)
  const before = { client: process.cpuUsage(), app: groupCpuMs(server.child.pid!), db: await backends() }
  const result = pacedRate === undefined
    ? await unpaced(measure)
    : await pacedPosts({ url: server.url, sessionKey: server.key, bodies, connections, rate: pacedRate, ...measure })
  const client = process.cpuUsage(before.client)
  const app = groupCpuMs(server.child.pid!) - before.app
  const db = (await backends()) - before.db
  return {
    ...result,
    clientCpuMs: (client.user + client.system) / 1000 / result.completed,
    appCpuMs: app / result.completed,
    ...(database && { dbCpuMs: db / result.completed }),
  }
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

/** Waits (bounded) until the relay has published (and so deleted) every outbox row; says how far behind it was when called. */
async function drainOutbox(url: string): Promise<{ rows: number; oldestS: number; drainS: number }> {
  return withClient(url, async (client) => {
    const pending = async () => {
      const { rows: [row] } = await client.query<{ n: string; age: number | null }>(
        'SELECT count(*) AS n, extract(epoch FROM clock_timestamp() - min(created))::float8 AS age FROM outbox',
      )
      return { rows: Number(row!.n), oldestS: row!.age ?? 0 }
    }
    const begin = performance.now()
    const first = await pending()
    const deadline = begin + 120_000
    while ((await pending()).rows > 0) {
      if (performance.now() > deadline) throw new Error('the outbox relay did not catch up within 120 s')
      await sleep(50)
    }
    return { ...first, drainS: (performance.now() - begin) / 1000 }
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

interface SaveOutcome {
  saves: number
  alerts: number
}

/** What the server saved, and how many of those saves alerted (the outbox rows are gone once published: asked of the incidents) */
async function saveOutcome(client: pg.Client): Promise<SaveOutcome> {
  const { rows: [row] } = await client.query<{ saves: string; alerts: string }>(`
    SELECT count(*) AS saves,
           count(*) FILTER (WHERE EXISTS (
             SELECT FROM areas_of_interest a WHERE ST_Covers(a.polygon, i.location) AND i.severity >= a.severity)) AS alerts
      FROM incidents i`)
  return { saves: Number(row!.saves), alerts: Number(row!.alerts) }
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
  outcome: SaveOutcome
  agreement: { same: number; total: number }
  outbox: string[]
  loadBefore: number
  loads: number[]
  loaded: number
}

function report(input: ReportInput): ScenarioResult[] {
  const rows = (table: Map<string, LoadResult[]>, rate: string): Row[] =>
    [...table].map(([subject, results]) => {
      const values: Record<string, number[]> = { [rate]: results.map((r) => r.rate), p50: results.map((r) => r.p50), p99: results.map((r) => r.p99) }
      // CPU only where it was read (Linux, and PostgreSQL only for the subjects that use it)
      const cpu = { 'client CPU': results.map((r) => r.clientCpuMs), 'app CPU': results.map((r) => r.appCpuMs), 'PostgreSQL CPU': results.map((r) => r.dbCpuMs) }
      for (const [metric, readings] of Object.entries(cpu)) {
        if (readings.every((x) => x !== undefined && Number.isFinite(x))) values[metric] = readings as number[]
      }
      return { subject, values }
    })
  const rateOf = (table: Map<string, LoadResult[]>, subject: string) => median(table.get(subject)!.map((r) => r.rate))
  const ours = rateOf(input.saves, SUBJECT.server)
  const bare = rateOf(input.saves, SUBJECT.bare)
  // round by round (each ours next to its bare run), then the median: a slow minute on a shared machine skews one round, not the ratio
  const perRound = (subject: string) => input.saves.get(SUBJECT.server)!.map((r, i) => r.rate / input.saves.get(subject)![i]!.rate)
  const oursToBare = median(perRound(SUBJECT.bare))
  const oursToGrouped = median(perRound(SUBJECT.bareGrouped))
  const oursP99 = median(input.saves.get(SUBJECT.server)!.map((r) => r.p99))
  const budget = input.options.tiny ? `${TINY.amount} requests per subject` : `${FULL.seconds} s per subject`
  const { gist, noGist } = input.plans
  const alertShare = input.outcome.saves ? (100 * input.outcome.alerts) / input.outcome.saves : NaN

  return [
    {
      scenario: 'geofence',
      case: `save with geofence: ${input.loaded} US county areas, ${input.places.length} US places, ${budget}`,
      units: { 'saves/s': 'saves per second', p50: 'ms', p99: 'ms', 'client CPU': 'ms per save', 'app CPU': 'ms per save', 'PostgreSQL CPU': 'ms per save' },
      rows: rows(input.saves, 'saves/s'),
      ratios: [
        { label: 'ours / bare SQL, saves/s (median of the rounds\' ratios)', value: oursToBare },
        { label: 'ours / bare SQL with the server\'s group commit, saves/s (median of the rounds\' ratios)', value: oursToGrouped },
        { label: 'bare SQL / bare SQL without GiST, saves/s', value: bare / rateOf(input.saves, SUBJECT.noGist) },
        { label: 'ours on PostGIS / ours on embedded PGlite, saves/s', value: ours / rateOf(input.saves, SUBJECT.embedded) },
      ],
      targets: [
        { label: 'ours / bare SQL', value: oursToBare, goal: `≥ ${TARGET_RATIO}×`, met: oursToBare >= TARGET_RATIO },
        { label: `p99 of ours at ${ours.toFixed(0)} saves/s`, value: oursP99, goal: `< ${TARGET_P99_MS} ms`, met: oursP99 < TARGET_P99_MS },
      ],
      notes: [
        'Every save is the full POST /api/incidents: session (looked up at most every 500 ms per key), validation, one statement that inserts ' +
          'the incident, builds its feature, runs the alert query and writes the outbox rows, committed in a transaction sent in one round trip ' +
          `(begin, the shared advisory lock, the statement, commit), then the post-save hook waking the outbox relay, which publishes to Redis. ` +
          `The server commits ${SAVE_CONCURRENCY} such transactions at once (DB_SAVE_CONCURRENCY); saves that arrive meanwhile share the next ` +
          'one (group commit, db/group-commit.ts). Closed loop: each connection sends its next request when the last is answered; latency is ' +
          'per request as the client sees it.',
        `Bare SQL sends the same statements (compiled from the repository's own template, prepared per connection as the server's are) through ` +
          `the server's own pipelining pool of ${CONNECTIONS} (db/connect.ts), on a copy of the same database: one save per transaction (the ` +
          `limit the target is set against), and grouped by the server's own group commit (the limit of the server's design). The no-GiST copy ` +
          'has areas_polygon dropped. Each round runs ours and both bare rows back to back (ours first in odd rounds, last in even ones); the ratios are taken round by round. ' +
          'Load generator, server and PostgreSQL share the machine.',
        `Saves by the server: ${input.outcome.saves}, of which ${alertShare.toFixed(0)}% alerted at least one county ` +
          '(thresholds cycle through all severities). Outbox after each server run: ' + input.outbox.join('; ') + '.',
        `EXPLAIN ANALYZE of the alert query (${gist.incidents} saved incidents): ${gist.areasAccess}, mean ${gist.meanMs.toFixed(3)} ms, ` +
          `max ${gist.maxMs.toFixed(3)} ms, ${gist.meanCandidates.toFixed(1)} area rows tested exactly per incident; without GiST: ` +
          `${noGist.areasAccess}, mean ${noGist.meanMs.toFixed(3)} ms, max ${noGist.maxMs.toFixed(3)} ms, ${noGist.meanCandidates.toFixed(0)} rows tested.`,
        'CPU per save, from /proc: "client" is this process (autocannon, or the pg client of bare SQL), "app" the server\'s process group ' +
          '(on PGlite the database too), "PostgreSQL" the whole PostgreSQL server (backends, including those that ended during the run, ' +
          'and its WAL writer, checkpointer and autovacuum). Everything shares two cores, so the save that costs more CPU in total ' +
          'sustains fewer saves per second.',
        'The paced row sends requests evenly spaced at half the rate the server sustained (an open loop; latency runs from when a request ' +
          'was due), so it shows a save\'s latency without the queue that a saturating closed loop builds (about connections / rate).',
        `${input.loaded} of ${input.counties.length} counties loaded (the rest collapse to nothing at this simplification); ` +
          'the same rows in PostgreSQL and PGlite.',
        `The embedded default runs at ${EMBEDDED_CONNECTIONS} connections: PGlite is a single backend, more connections would only queue.`,
        machineLoad(input.loadBefore, input.loads),
      ],
    },
    {
      scenario: 'geofence',
      case: `alert check alone: one point against the county polygons (${input.loaded} in PostGIS, all ${input.counties.length} for turf), one at a time`,
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
