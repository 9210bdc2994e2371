import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase } from '../../helpers/postgres.ts'
import { signIn, spawnServer, type ServerProcess } from '../../helpers/server-process.ts'
import { MAX_CREATE_GROUP } from '../../../server/repositories/incidents.ts'
import type { BenchOptions, Scenario, ScenarioResult } from '../harness/report.ts'
import { median } from '../harness/report.ts'
import { ALERT_CHECK, withBareSaves, type Grouping } from '../geofence/bare-save.ts'
import { Cleanup, stopServer } from '../geofence/cleanup.ts'
import { groupCpuMs, postgresCpuMs } from '../geofence/cpu.ts'
import { incidentBody, loadCounties, loadPlaces, type County, type Place } from '../geofence/data.ts'
import { copyDatabase, withClient } from '../geofence/databases.ts'
import { explainAlertCheck } from '../geofence/explain.ts'
import { EMBEDDED_CONNECTIONS, geofenceReport, LOADS, OPEN_LOOP_CONNECTIONS, openLoopKey, type Measurements } from '../geofence/geofence-report.ts'
import { postIncidents } from '../geofence/http-load.ts'
import { closedLoop, type LoadResult } from '../geofence/load.ts'
import { migrateAndLoad } from '../geofence/migrate-and-load.ts'
import { naiveAlerts, runNaiveChecks } from '../geofence/naive.ts'
import { pacedPosts } from '../geofence/paced-load.ts'
import { prepareEmbedded } from '../geofence/prepare-embedded.ts'
import { buildAreaIndex, runIndexedChecks } from '../geofence/rtree.ts'

// Save with geofence: how many POST /api/incidents per second the server
// sustains when every save runs the alert rule against the 3 231 real US
// county polygons and writes its outbox rows, against the limit: the same
// SQL driven directly with the same group commit, at the best concurrency
// and group size of a small grid. Then the latency of a save at a fixed
// rate (open loop), the embedded default, and the alert check alone beside
// an in-process R-tree.

const ADMIN_PASSWORD = 'geofence-bench-password'
/** a Redis database of our own, away from the tests' 1, 2, … (see test/helpers/redis.ts) */
const REDIS_DB = 13

/** a fixed count of operations, or a duration */
interface Budget {
  amount?: number
  durationMs?: number
}

interface Size {
  counties?: number
  /** what the grid search and ours' calibration try */
  grid: { inFlight: number[]; groupSize: number[]; connections: number[] }
  calibrate: { warmup: Budget; measure: Budget }
  paired: { warmup: Budget; measure: Budget }
  openLoop: Budget
  checks: Budget
  explainSample: number
  agreementSample: number
}

const TINY: Size = {
  counties: 50,
  grid: { inFlight: [1, 2], groupSize: [1, 4], connections: [4] },
  calibrate: { warmup: { amount: 8 }, measure: { amount: 24 } },
  paired: { warmup: { amount: 8 }, measure: { amount: 40 } },
  openLoop: { amount: 20 },
  checks: { amount: 50 },
  explainSample: 5,
  agreementSample: 20,
}
/** GEOFENCE_TIME_SCALE=0.3 shortens every timed run of a full-size run to 30 % (a quick look; the defaults are what results use) */
const SCALE = Number(process.env.GEOFENCE_TIME_SCALE ?? 1)
const seconds = (s: number) => ({ durationMs: Math.round(s * 1000 * SCALE) })
const FULL: Size = {
  grid: { inFlight: [1, 2, 4, 8], groupSize: [1, 4, 16, MAX_CREATE_GROUP], connections: [16, 64, 128] },
  calibrate: { warmup: seconds(1), measure: seconds(3) },
  paired: { warmup: seconds(2), measure: seconds(10) },
  openLoop: seconds(10),
  checks: seconds(3),
  explainSample: 50,
  agreementSample: 300,
}
/** rounds of ours against the limit, at least: fewer give too wide an interval to judge a 0.9× target */
const MIN_PAIRED_ROUNDS = 7

export const geofence: Scenario = {
  name: 'geofence',
  title: 'Save with geofence: POST /api/incidents against the US county polygons',
  run,
}

async function run(options: BenchOptions): Promise<ScenarioResult[]> {
  if (!(SCALE > 0 && SCALE <= 10)) throw new Error(`GEOFENCE_TIME_SCALE must be a number above 0 and at most 10 (got ${process.env.GEOFENCE_TIME_SCALE})`)
  // elapsed time on every line: where a run spends its time is part of what it reports
  const began = performance.now()
  const loadBefore = loadavg()[0]!
  const log = (line: string) => options.log(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${line}`)
  const size = options.tiny ? TINY : FULL
  const pairedRounds = options.tiny ? 1 : Math.max(MIN_PAIRED_ROUNDS, options.rounds)
  const counties = loadCounties(size.counties)
  // tiny: the first 50 counties are all in Alabama, so take Alabama's places and most saves still alert
  const places = loadPlaces(options.tiny ? { withinStatesOf: counties } : {})
  const bodies = places.map(incidentBody)
  log(`${counties.length} counties, ${places.length} places`)

  const cleanup = new Cleanup(log)
  try {
    const setup = await prepare(counties, cleanup, log)
    const m: Pick<Measurements, 'grid' | 'calibration' | 'ours' | 'limit' | 'embedded' | 'openLoop' | 'checks' | 'outbox' | 'loads'> = {
      grid: [], calibration: [], ours: [], limit: [], embedded: [], openLoop: new Map(), checks: new Map(), outbox: [], loads: [],
    }
    const done = (subject: string, result: LoadResult) => {
      if (result.errors) log(`${subject}: ${result.errors} errors (first: ${result.firstError})`)
      if (result.completed === 0) throw new Error(`${subject}: nothing completed (${result.firstError ?? 'no error'})`)
      m.loads.push(loadavg()[0]!)
      log(`${subject}: ${result.rate.toFixed(1)}/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms (${result.completed} done; load average ${m.loads.at(-1)!.toFixed(1)})`)
      return result
    }
    const settle = async (subject: string) => {
      // what the relay had not yet published when the load stopped: the next run must not pay for it
      const state = await drainOutbox(setup.server.databaseUrl!)
      m.outbox.push(`${subject}: ${state.rows} rows unpublished when the load stopped, the oldest ${state.oldestS.toFixed(1)} s old; published within ${state.drainS.toFixed(1)} s`)
    }
    const ours = async (connections: number, budgets: { warmup: Budget; measure: Budget }, label: string) => {
      const result = done(label, await measureServer(setup.server, bodies, connections, budgets))
      await settle(label)
      return result
    }
    const limit = (grouping: Grouping, budgets: { warmup: Budget; measure: Budget }, label: string) =>
      withBareSaves(setup.bareDb, places, grouping.inFlight, async (saves) => done(label, await saves.closed(grouping, budgets)))

    // 1. Ours' best number of client connections, and the limit: the best of the grid.
    for (const connections of size.grid.connections) {
      m.calibration.push({ connections, result: await ours(connections, size.calibrate, `calibrating ours, ${connections} connections`) })
    }
    for (const inFlight of size.grid.inFlight) {
      for (const groupSize of size.grid.groupSize) {
        const grouping = { inFlight, groupSize }
        m.grid.push({ grouping, result: await limit(grouping, size.calibrate, `grid: ${inFlight} transactions in flight × ${groupSize} saves`) })
      }
    }
    const connections = m.calibration.reduce((a, b) => (b.result.rate > a.result.rate ? b : a)).connections
    const best = m.grid.reduce((a, b) => (b.result.rate > a.result.rate ? b : a)).grouping
    log(`ours at ${connections} connections; the limit at ${best.inFlight} transactions in flight × ${best.groupSize} saves`)

    // 2. Paired rounds: ours and the limit back to back, alternating which goes first.
    for (let round = 1; round <= pairedRounds; round++) {
      const pair = [
        async () => m.ours.push(await ours(connections, size.paired, `round ${round}/${pairedRounds}: ours`)),
        async () => m.limit.push(await limit(best, size.paired, `round ${round}/${pairedRounds}: limit`)),
      ]
      for (const step of round % 2 === 1 ? pair : pair.reverse()) await step()
    }

    // 3. Open loop at shares of each side's measured maximum, and the embedded default.
    const oursMax = median(m.ours.map((r) => r.rate))
    const limitMax = median(m.limit.map((r) => r.rate))
    for (let round = 1; round <= options.rounds; round++) {
      for (const share of LOADS) {
        const rate = Math.max(1, oursMax * share)
        const label = `ours at ${share * 100} % (${rate.toFixed(0)}/s, open loop)`
        const result = done(label, await measureServer(setup.server, bodies, OPEN_LOOP_CONNECTIONS, { measure: size.openLoop, pacedRate: rate }))
        await settle(label)
        record(m.openLoop, openLoopKey('ours', share), { ...result, offered: rate })
        const limitRate = Math.max(1, limitMax * share)
        const bare = await withBareSaves(setup.bareDb, places, best.inFlight, (saves) => saves.open(best, { rate: limitRate, ...size.openLoop }))
        record(m.openLoop, openLoopKey('limit', share), { ...done(`limit at ${share * 100} % (${limitRate.toFixed(0)}/s, open loop)`, bare), offered: limitRate })
      }
      m.embedded.push(done('embedded PGlite', await measureServer(setup.embedded, bodies, EMBEDDED_CONNECTIONS, size.paired)))
    }

    // 4. The alert check alone: PostGIS with and without its index, the in-process R-tree, every polygon in turn.
    const index = buildAreaIndex(counties)
    for (let round = 1; round <= options.rounds; round++) {
      record(m.checks, 'gist', done('PostGIS alert check (GiST)', await alertCheckAlone(setup.bareDb, places, size.checks)))
      record(m.checks, 'noGist', done('PostGIS alert check (no GiST)', await alertCheckAlone(setup.noGistDb, places, size.checks)))
      runIndexedChecks(index, places, { amount: 1000 })
      record(m.checks, 'rtree', done('flatbush + turf', runIndexedChecks(index, places, size.checks)))
      runNaiveChecks(counties, places, { amount: 20 })
      record(m.checks, 'naive', done('turf, every polygon', runNaiveChecks(counties, places, size.checks)))
    }

    const plans = {
      gist: await withClient(setup.bareDb, (c) => explainAlertCheck(c, places.slice(0, size.explainSample))),
      noGist: await withClient(setup.noGistDb, (c) => explainAlertCheck(c, places.slice(0, size.explainSample))),
    }
    const outcome = await withClient(setup.server.databaseUrl!, saveOutcome)
    const agreement = await checkAgreement(setup.bareDb, counties, places.slice(0, size.agreementSample), index.alerts)
    log('done')
    return geofenceReport({
      ...m, connections, best, plans, outcome, agreement, indexBuildMs: index.buildMs, tiny: options.tiny,
      budgets: { paired: size.paired, openLoop: size.openLoop, calibrate: size.calibrate }, counties: counties.length, places: places.length, loaded: setup.loaded, loadBefore,
    })
  } finally {
    await cleanup.runAll()
  }
}

function record<T>(table: Map<string, T[]>, key: string, value: T) {
  table.set(key, [...(table.get(key) ?? []), value])
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
  // the server's own defaults for its pool and group commit (DB_POOL_SIZE, DB_SAVE_CONCURRENCY);
  // GEOFENCE_SERVER_NODE_OPTIONS reaches this server only: with CPU_PROFILE_DIR,
  // "--import=<abs>/test/bench/fan-out/cpu-profile.mjs" profiles it (Node 20 refuses --cpu-prof there)
  const nodeOptions = process.env.GEOFENCE_SERVER_NODE_OPTIONS
  const profileDir = process.env.CPU_PROFILE_DIR
  const server = await startSignedIn({
    DATABASE_URL: source.url, REDIS_URL: redisUrl, ...(nodeOptions && { NODE_OPTIONS: nodeOptions }), ...(profileDir && { CPU_PROFILE_DIR: profileDir }),
  }, cleanup)
  log(`${loaded} areas in PostgreSQL; server on PostgreSQL up`)

  const embeddedLoaded = await embeddedLoading
  // fewer rows on one side would compare different workloads: refuse rather than report it
  if (embeddedLoaded !== loaded) throw new Error(`loaded ${loaded} areas into PostgreSQL but ${embeddedLoaded} into PGlite`)
  const embedded = await startSignedIn({ DATA_DIR: dataDir }, cleanup)
  log(`${embeddedLoaded} areas in PGlite; server on PGlite up`)
  return { bareDb: bare.url, noGistDb: noGist.url, loaded, server, embedded }
}

async function startSignedIn(env: Record<string, string>, cleanup: Cleanup): Promise<RunningServer> {
  const server = await spawnServer({ ADMIN_PASSWORD, ...env }, { via: 'npm start' })
  cleanup.add(`stop server ${server.url}`, () => stopServer(server))
  await server.healthy()
  return Object.assign(server, { key: await signIn(server.url, 'admin', ADMIN_PASSWORD), databaseUrl: env.DATABASE_URL })
}

type RunningServer = ServerProcess & { key: string; databaseUrl?: string }

/**
 * POST /api/incidents against a running server: an optional warm-up, then
 * the measured run (autocannon's closed loop, or an open loop at
 * `pacedRate`), with the CPU per save of the load generator (this process),
 * of the server's process group and (on PostgreSQL) of its database.
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

/** The alert check by itself for the places in turn, one at a time over one connection: what the geofence costs PostgreSQL, round trip included. */
async function alertCheckAlone(url: string, places: Place[], load: Budget): Promise<LoadResult> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  pool.on('error', () => {})
  const check = async (i: number) => {
    const place = places[i % places.length]!
    await pool.query({ name: 'alert-check', text: ALERT_CHECK, values: [place.lon, place.lat, place.severity] })
  }
  try {
    await closedLoop({ concurrency: 1, amount: 20 }, check)
    return await closedLoop({ concurrency: 1, ...load }, check)
  } finally {
    await pool.end()
  }
}

/** What the server saved, and how many of those saves alerted (the outbox rows are gone once published: asked of the incidents) */
async function saveOutcome(client: pg.Client): Promise<{ saves: number; alerts: number }> {
  const { rows: [row] } = await client.query<{ saves: string; alerts: string }>(`
    SELECT count(*) AS saves,
           count(*) FILTER (WHERE EXISTS (
             SELECT FROM areas_of_interest a WHERE ST_Covers(a.polygon, i.location) AND i.severity >= a.severity)) AS alerts
      FROM incidents i`)
  return { saves: Number(row!.saves), alerts: Number(row!.alerts) }
}

/**
 * The in-process checks must find what PostGIS finds, or their speed means
 * nothing: compares the alerted counties of each sampled place (turf on the
 * raw polygons, PostGIS on the repaired ones, so a rare point right on a
 * repaired edge may differ).
 */
async function checkAgreement(url: string, counties: County[], sample: Place[], indexed: (place: Place) => string[]): Promise<{ naive: number; rtree: number; total: number }> {
  return withClient(url, async (client) => {
    let naive = 0
    let rtree = 0
    for (const place of sample) {
      const { rows } = await client.query<{ name: string }>(
        `SELECT name FROM areas_of_interest
          WHERE ST_Covers(polygon, ST_SetSRID(ST_MakePoint($1, $2), 4326)) AND $3::severity >= severity`,
        [place.lon, place.lat, place.severity],
      )
      // names are "Name (FIPS)": the FIPS identifies the county
      const postgis = rows.map((r) => /\((\d{5})\)$/.exec(r.name)![1]!).sort().join(',')
      if (postgis === naiveAlerts(counties, place).sort().join(',')) naive++
      if (postgis === indexed(place).sort().join(',')) rtree++
    }
    return { naive, rtree, total: sample.length }
  })
}
