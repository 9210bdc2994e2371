import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { createDatabase } from '../../helpers/postgres.ts'
import { spawnServer, type ServerProcess } from '../../helpers/server-process.ts'
import type { BenchOptions, Scenario, ScenarioResult } from '../harness/report.ts'
import { median } from '../harness/report.ts'
import { Cleanup, stopServer } from '../geofence/cleanup.ts'
import { machineLoad } from '../geofence/machine.ts'
import { prepareEmbedded } from '../geofence/prepare-embedded.ts'
import { validSlimBundle } from '../../../db/drivers/postgis-bundle.ts'
import { buildServerBundle, staleReason } from '../../../server/bundle.mjs'

// Start: how long `npm start` keeps a user waiting. Timed from spawning
// what it runs, `node server/start.mjs` (the server bundle built at install),
// to the first 200 from /api/health: the first run
// creates the embedded database (initdb + PostGIS + migrations + first
// admin), the second reopens the same folder, which is what every restart
// after that costs. PostgreSQL (a fresh database, then the same again) for
// reference.

const TARGET_SECOND_RUN_MS = 5_000
/** health is polled this often: the resolution of the measurement */
const POLL_MS = 20
/** a start that takes longer than this is a failure, not a measurement */
const START_TIMEOUT_MS = 120_000

const SUBJECT = {
  embedded: 'our server, embedded PGlite (fresh DATA_DIR, then the same)',
  databaseAlone: 'PGlite + PostGIS alone, no app (script: open that folder, migrations, close)',
  postgres: 'our server, PostgreSQL (fresh database, then the same)',
}

export const start: Scenario = {
  name: 'start',
  title: 'Start: from `node server/start.mjs` (what `npm start` runs) to /api/health 200',
  run,
}

interface Round {
  first: number
  second: number
  stop: number
}

async function run(options: BenchOptions): Promise<ScenarioResult[]> {
  const { log } = options
  const loadBefore = loadavg()[0]!
  const loads: number[] = []
  // as `npm install` leaves it: a stale bundle would put a rebuild into the first start timed
  const stale = staleReason()
  if (stale) {
    log(`building the server bundle first: ${stale}`)
    await buildServerBundle()
  }
  const embedded: Round[] = []
  const databaseAlone: number[] = []
  const postgres: Round[] = []
  for (let round = 1; round <= options.rounds; round++) {
    const cleanup = new Cleanup(log)
    try {
      const dataDir = await mkdtemp(join(tmpdir(), 'bench-start-'))
      cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }))
      embedded.push(await twoStarts({ DATA_DIR: dataDir }, cleanup))
      log(`round ${round}: embedded first ${fmt(embedded.at(-1)!.first)}, second ${fmt(embedded.at(-1)!.second)}`)
      // the database's share of a second run: the same folder opened by a script that loads none of the app
      const begin = performance.now()
      await prepareEmbedded(dataDir, 0)
      databaseAlone.push(performance.now() - begin)
      log(`round ${round}: PGlite + PostGIS alone ${fmt(databaseAlone.at(-1)!)}`)

      const database = await createDatabase()
      cleanup.add(`drop ${database.name}`, database.drop)
      postgres.push(await twoStarts({ DATABASE_URL: database.url }, cleanup))
      loads.push(loadavg()[0]!)
      log(`round ${round}: PostgreSQL first ${fmt(postgres.at(-1)!.first)}, second ${fmt(postgres.at(-1)!.second)}`)
    } finally {
      await cleanup.runAll()
    }
  }

  const second = median(embedded.map((r) => r.second))
  const values = (rounds: Round[]) => ({
    'first run': rounds.map((r) => r.first),
    'second run': rounds.map((r) => r.second),
    stop: rounds.map((r) => r.stop),
  })
  return [
    {
      scenario: 'start',
      case: 'time to /api/health 200, first run on an empty store, second run on the same store',
      units: { 'first run': 'ms', 'second run': 'ms', stop: 'ms, SIGTERM to exit' },
      rows: [
        { subject: SUBJECT.embedded, values: values(embedded) },
        { subject: SUBJECT.databaseAlone, values: { 'second run': databaseAlone } },
        { subject: SUBJECT.postgres, values: values(postgres) },
      ],
      ratios: [
        { label: 'embedded / PostgreSQL, second run', value: second / median(postgres.map((r) => r.second)) },
        { label: 'embedded first run / second run', value: median(embedded.map((r) => r.first)) / second },
      ],
      targets: [{ label: '`npm start` on the embedded default, second run: spawn → /api/health 200', value: second, rounds: embedded.map((r) => r.second), unit: 'ms', goal: `< ${TARGET_SECOND_RUN_MS} ms`, met: second < TARGET_SECOND_RUN_MS }],
      notes: [
        `Timed from just before spawning \`node server/start.mjs\` (what \`npm start\` runs, without npm's own start-up) ` +
          `to the first 200 from /api/health, polled every ${POLL_MS} ms. Each run is stopped with SIGTERM and waited for before the next, ` +
          'so the second run finds the folder released as after a normal shutdown. The launcher runs the server bundle ' +
          '(node_modules/.cache/incident-tracker/server, esbuild, packages external) with plain node, no tsx; ' +
          (stale ? `it was stale (${stale}) and was rebuilt before the first round, as \`npm install\` would have.` : 'it was up to date, as `npm install` leaves it.'),
        'The "alone" row is the embedded folder after those runs opened by a tsx script that imports only the database layer ' +
          '(PGlite with the PostGIS extension, the migrations, close), timed from spawn to exit: the database\'s share of a second run, ' +
          'though it still pays tsx\'s start-up and loader, which the server runs above no longer do, so it can exceed them; ' +
          'the PostgreSQL second run is roughly the app\'s share.',
        validSlimBundle()
          ? 'PGlite loaded the slim PostGIS bundle (node_modules/.cache/incident-tracker, built by `npm install`: no raster, no topology).'
          : 'PGlite loaded the full PostGIS bundle: there was no valid slim one (run `npm install`, or `tsx db/slim-postgis-bundle.ts`).',
        machineLoad(loadBefore, loads),
      ],
    },
  ]
}

/** A first start on an empty store and a second on the same store; each stopped cleanly before the next. */
async function twoStarts(env: Record<string, string>, cleanup: Cleanup): Promise<Round> {
  const first = await timedStart(env, cleanup)
  const stop = await timedStop(first.server)
  const second = await timedStart(env, cleanup)
  await timedStop(second.server)
  return { first: first.ms, second: second.ms, stop }
}

async function timedStart(env: Record<string, string>, cleanup: Cleanup): Promise<{ server: ServerProcess; ms: number }> {
  const begin = performance.now()
  // spawnServer gives the server a fresh port and nothing of our environment but PATH, HOME, TMPDIR, LANG
  const server = await spawnServer(env, { via: 'npm start' })
  cleanup.add(`stop server ${server.url}`, () => stopServer(server))
  const deadline = begin + START_TIMEOUT_MS
  while (performance.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode}:\n${server.output()}`)
    const ok = await fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status === 200, () => false)
    if (ok) return { server, ms: performance.now() - begin }
    await sleep(POLL_MS)
  }
  throw new Error(`server not healthy after ${START_TIMEOUT_MS} ms:\n${server.output()}`)
}

async function timedStop(server: ServerProcess): Promise<number> {
  const begin = performance.now()
  await stopServer(server)
  return performance.now() - begin
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`
