import { mkdtempSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from '@playwright/test'
import { median, type BenchOptions, type Row, type Scenario, type ScenarioResult, type Target } from '../harness/report.ts'
import { createDatabase } from '../../helpers/postgres.ts'
import { signIn, spawnServer, type ServerProcess } from '../../helpers/server-process.ts'
import { BLANK_TILE_URL, launchChromium } from '../map/browser.ts'
import { ensureDashboardBuilt } from '../map/dashboard-build.ts'
import { loadTimings, panAndCount, probeScript, rerenderCost, type FrameStats } from '../map/page-probe.ts'
import { startPoster, type PosterStats } from '../map/poster.ts'
import { startProfiling, type ProfileSummary } from '../map/profile.ts'
import { countIncidents, removeLiveIncidents, seedIncidents, waitForOutboxDrained } from '../map/seed.ts'

// The dashboard at scale, in Debian's chromium: how long until 50 000
// incidents are on the map, and how smoothly it pans and zooms, alone and
// while live updates pour in. 5 000 alongside, so the scaling shows, and an
// empty map as the control: what this browser on this machine manages when
// the incident layer has nothing to do.
//
// MAP_BENCH_PROFILE=1 also records a CPU profile of the page for each phase
// (first render, panning, panning + live) and logs where the time goes; the
// profiler costs frames itself, so take numbers from a run without it.

const ADMIN_PASSWORD = 'map-bench-admin-password'
const USER_PASSWORD = 'map-bench-user-password'

/**
 * A Redis database of this scenario's own. The server follows the
 * `notifications` stream of its database from the newest entry, so old
 * entries are harmless, but another process writing the same stream at the
 * same time would send its updates to our page. The tests use 1, 2, … (one per
 * vitest worker); 12 is clear of them.
 */
function redisUrl(): string {
  const url = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
  url.pathname = '/12'
  return url.toString()
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const thousands = (n: number) => n.toLocaleString('en').replace(/,/g, ' ')

interface RoundResult {
  /** ms from navigation start, in the page's own clock (the marker times are NaN on the empty map) */
  fetchStartedAt: number
  fetchedAt: number
  readyAt: number
  paintedAt: number
  markersAt: number
  pages: number
  bytes: number
  waitingMs: number
  receivingMs: number
  rerender: { ms: number; markers: number }
  pan: FrameStats
  live: FrameStats
  poster: PosterStats
}

interface Sizes {
  /** the control (0), the reference, then the size the targets are about */
  incidents: [0, number, number]
  panMs: number
  livePerSecond: number
  /** posting runs this long before the frames are counted, so the page meets a steady stream, not its first burst */
  liveWarmupMs: number
}

/** Runs a phase under the CPU profiler when profiling was asked for, logging its hot spots. */
async function profiled<T>(page: Page, profile: Profiling | undefined, phase: string, work: () => Promise<T>): Promise<T> {
  if (!profile) return work()
  const stop = await startProfiling(page)
  const result = await work()
  const file = join(profile.dir, `${phase}.cpuprofile`)
  report(profile.log, phase, file, await stop(file))
  return result
}

interface Profiling {
  dir: string
  log: (line: string) => void
}

function report(log: (line: string) => void, phase: string, file: string, summary: ProfileSummary) {
  const ms = (n: number) => `${n.toFixed(0).padStart(6)} ms`
  log(`profile of ${phase} (${file}), by self time:`)
  for (const s of summary.bySelf.slice(0, 15)) log(`  ${ms(s.selfMs)} self ${ms(s.totalMs)} total  ${s.name}  ${s.where}`)
  log(`by total time:`)
  for (const s of summary.byTotal.slice(0, 15)) log(`  ${ms(s.totalMs)} total ${ms(s.selfMs)} self  ${s.name}  ${s.where}`)
}

/**
 * Reads every incident page once through the API before a size is measured:
 * the first request after a start (or after seeding) pays for compiling the
 * server's code paths and for PostgreSQL reading the new rows from disk, and
 * a user opening the dashboard meets a server that has long been running.
 */
async function warmUp(baseUrl: string, key: string): Promise<void> {
  let cursor: number | null = null
  do {
    const response: Response = await fetch(`${baseUrl}/api/incidents?limit=10000${cursor === null ? '' : `&cursor=${cursor}`}`, { headers: { authorization: `Bearer ${key}` } })
    if (!response.ok) throw new Error(`warm-up read failed: ${response.status}`)
    cursor = ((await response.json()) as { next_cursor: number | null }).next_cursor
  } while (cursor !== null)
}

async function createUser(baseUrl: string, adminKey: string, username: string): Promise<void> {
  const response = await fetch(`${baseUrl}/api/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: USER_PASSWORD, role: 'operator' }),
  })
  if (response.status !== 201) throw new Error(`creating ${username}: ${response.status} ${await response.text()}`)
}

/**
 * One round on a fresh browser context (no cache, no session): sign in,
 * open the dashboard and time its first render, then pan, then pan again
 * while the poster reports incidents.
 */
async function round(browser: Browser, server: ServerProcess, posterKey: string, expected: number, sizes: Sizes, profile?: Profiling): Promise<RoundResult> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  try {
    // Signed in before the clock starts: the context's request shares its
    // cookie jar, so the page opens straight on the dashboard, as it does
    // for a returning user, and the measurement is the map, not the form.
    const login = await context.request.post(`${server.url}/api/auth/login`, { data: { username: 'map-watcher', password: USER_PASSWORD } })
    if (!login.ok()) throw new Error(`sign-in failed: ${login.status()} ${await login.text()}`)
    await context.addInitScript({ content: probeScript })

    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })

    // an empty map never shows a marker: there, ready is all there is to wait for
    const empty = expected === 0
    await profiled(page, profile, `first-render-${expected}`, async () => {
      await page.goto(server.url)
      // a function, not a string: the page's CSP forbids eval, which a string predicate needs
      await page.waitForFunction(
        (field) => {
          const bench = (window as unknown as { __mapBench__?: Record<string, unknown> }).__mapBench__
          return !!bench && bench[field] !== null
        },
        empty ? 'readyAt' : 'paintedAt',
        { timeout: 120_000, polling: 50 },
      )
    })
    // what a person would check: something is really showing, not just in the DOM
    if (!empty) await page.locator('.cluster-canvas:not([data-clusters="0"]), .incident-pin').first().waitFor({ state: 'visible', timeout: 10_000 })
    const load = await page.evaluate(loadTimings)
    // the sidebar counts what the store holds: proof the whole set was loaded, not a first page
    // (the list renders at most twice a second, so give it a moment to catch up)
    const count = page.getByTestId('incident-count')
    await page.waitForFunction(([el, n]) => el?.textContent === String(n), [await count.elementHandle(), expected] as const, { timeout: 5000 }).catch(() => {})
    const shown = Number(await count.textContent())
    if (shown !== expected) throw new Error(`the dashboard shows ${shown} incidents, expected ${expected}`)

    const rerender = await page.evaluate(rerenderCost, { times: 7 })
    const pan = await profiled(page, profile, `panning-${expected}`, () => page.evaluate(panAndCount, { durationMs: sizes.panMs }))

    const poster = startPoster(server.url, posterKey, sizes.livePerSecond)
    let posted: PosterStats
    let live: FrameStats
    try {
      await sleep(sizes.liveWarmupMs)
      live = await profiled(page, profile, `panning-live-${expected}`, () => page.evaluate(panAndCount, { durationMs: sizes.panMs }))
    } finally {
      posted = await poster.stop()
    }
    if (pageErrors.length) throw new Error(`the page reported errors:\n${pageErrors.join('\n')}`)
    return { ...load, readyAt: load.readyAt!, markersAt: load.markersAt ?? NaN, paintedAt: load.paintedAt ?? NaN, rerender, pan, live, poster: posted }
  } finally {
    await context.close()
  }
}

async function run({ tiny, rounds, log }: BenchOptions): Promise<ScenarioResult[]> {
  const sizes: Sizes = tiny
    ? { incidents: [0, 50, 500], panMs: 1_000, livePerSecond: 10, liveWarmupMs: 300 }
    : { incidents: [0, 5_000, 50_000], panMs: 5_000, livePerSecond: 100, liveWarmupMs: 1_000 }

  await ensureDashboardBuilt(log)
  const profile = process.env.MAP_BENCH_PROFILE ? { dir: mkdtempSync(join(tmpdir(), 'map-profile-')), log } : undefined
  const database = await createDatabase()
  let server: ServerProcess | undefined
  let browser: Browser | undefined
  // The server runs in a process group of its own and would outlive this
  // process if it died without reaching `finally` (an uncaught error, a
  // closed stdout): kill it on the way out at least.
  const killServer = () => server?.kill()
  process.once('exit', killServer)
  try {
    server = await spawnServer({
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl(),
      ADMIN_PASSWORD,
      LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
      TILE_URL: BLANK_TILE_URL,
    })
    await server.healthy()
    const adminKey = await signIn(server.url, 'admin', ADMIN_PASSWORD)
    // the page watches as an operator: draggable markers, the heavier of the two ways the map is built
    await createUser(server.url, adminKey, 'map-watcher')
    await createUser(server.url, adminKey, 'map-poster')
    const posterKey = await signIn(server.url, 'map-poster', USER_PASSWORD)
    browser = await launchChromium()
    log(`chromium ${browser.version()}, server at ${server.url}`)

    // other work on the machine takes frames from the page: say how busy it was
    const loads = [loadavg()[0]!]
    const rows: Row[] = []
    const posters: PosterStats[] = []
    let seeded = 0
    for (const [i, size] of sizes.incidents.entries()) {
      // one database for every size: each set is the one before plus more
      const t0 = performance.now()
      if (size > seeded) await seedIncidents(database.url, size - seeded, 0.1 * (i + 1))
      seeded = size
      if ((await countIncidents(database.url)) !== size) throw new Error(`seeding left the wrong number of incidents (expected ${size})`)
      log(`seeded ${thousands(size)} incidents in ${Math.round(performance.now() - t0)} ms`)
      await warmUp(server.url, posterKey)

      const values: Record<string, number[]> = {}
      const add = (metric: string, value: number) => (values[metric] ??= []).push(value)
      for (let r = 0; r < rounds; r++) {
        const result = await round(browser, server, posterKey, size, sizes, profile)
        // the live incidents go again, so every round loads exactly `size`
        await removeLiveIncidents(database.url)
        await waitForOutboxDrained(database.url)
        posters.push(result.poster)
        loads.push(loadavg()[0]!)
        // the empty map has no first render to time, and the harness wants a number or nothing
        if (size > 0) add('first render', result.paintedAt)
        add('ready', result.readyAt)
        add('fetched', result.fetchedAt)
        add('re-render', result.rerender.ms)
        add('fps panning', result.pan.fps)
        add('p95 frame panning', result.pan.p95FrameMs)
        add('blocked panning', (100 * result.pan.longTaskMs) / 1000 / result.pan.seconds)
        add('fps panning + live', result.live.fps)
        add('p95 frame panning + live', result.live.p95FrameMs)
        add('blocked panning + live', (100 * result.live.longTaskMs) / 1000 / result.live.seconds)
        add('live received', result.live.liveFrames / result.live.seconds)
        log(
          `${thousands(size)} incidents, round ${r + 1}: ${size > 0 ? `first render ${Math.round(result.paintedAt)} ms ` : ''}` +
            `(${result.pages} incident pages, ${(result.bytes / 2 ** 20).toFixed(1)} MiB, fetched ${Math.round(result.fetchStartedAt)}–${Math.round(result.fetchedAt)} ` +
            `(waiting ${Math.round(result.waitingMs)} ms for first bytes, ${Math.round(result.receivingMs)} ms receiving), ` +
            `ready at ${Math.round(result.readyAt)}${size > 0 ? `, markers at ${Math.round(result.markersAt)}` : ''}); ` +
            `re-render ${result.rerender.ms.toFixed(1)} ms for ${result.rerender.markers} markers; ` +
            `panning ${result.pan.fps.toFixed(1)} fps, p95 frame ${result.pan.p95FrameMs.toFixed(1)} ms, longest ${result.pan.longestFrameMs.toFixed(0)} ms, ` +
            `${result.pan.moves} moves, ${result.pan.markers} markers at the end; ` +
            `with live ${result.live.fps.toFixed(1)} fps, p95 frame ${result.live.p95FrameMs.toFixed(1)} ms, longest ${result.live.longestFrameMs.toFixed(0)} ms, ` +
            `${(result.live.liveFrames / result.live.seconds).toFixed(0)} updates/s received, ` +
            `poster ${result.poster.created}/${result.poster.sent} created at ${result.poster.rate.toFixed(0)}/s (p50 ${result.poster.latencyP50.toFixed(0)} ms)`,
        )
      }
      rows.push({ subject: size === 0 ? 'empty map (control)' : `${thousands(size)} incidents`, values })
    }

    const [, small, large] = rows as [Row, Row, Row]
    const reference = thousands(sizes.incidents[1])
    const largest = thousands(sizes.incidents[2])
    const m = (row: Row, metric: string) => median(row.values[metric]!)
    const targets: Target[] = tiny
      ? []
      : [
          { label: `first render of ${largest} incidents`, value: m(large, 'first render'), goal: '< 2000 ms', met: m(large, 'first render') < 2000 },
          { label: `panning with ${largest} incidents`, value: m(large, 'fps panning'), goal: '≥ 50 fps', met: m(large, 'fps panning') >= 50 },
          {
            label: `panning with ${largest} incidents and ${sizes.livePerSecond} updates/s`,
            value: m(large, 'fps panning + live'),
            goal: '≥ 50 fps',
            met: m(large, 'fps panning + live') >= 50,
          },
        ]
    const achieved = median(posters.map((p) => p.rate))
    const failed = posters.reduce((sum, p) => sum + p.failed, 0)
    return [
      {
        scenario: 'map',
        case: `the dashboard in headless chromium, ${(sizes.panMs / 1000).toFixed(0)} s of panning and zooming, live at ${sizes.livePerSecond} updates/s`,
        units: {
          'first render': 'ms',
          ready: 'ms',
          fetched: 'ms',
          're-render': 'ms',
          'fps panning': 'fps',
          'p95 frame panning': 'ms',
          'blocked panning': '%',
          'fps panning + live': 'fps',
          'p95 frame panning + live': 'ms',
          'blocked panning + live': '%',
          'live received': '/s',
        },
        rows,
        ratios: [
          { label: `first render, ${largest} vs ${reference}`, value: m(large, 'first render') / m(small, 'first render') },
          { label: `fps panning, ${reference} vs ${largest}`, value: m(small, 'fps panning') / m(large, 'fps panning') },
          { label: `fps panning + live, ${reference} vs ${largest}`, value: m(small, 'fps panning + live') / m(large, 'fps panning + live') },
        ],
        targets,
        notes: [
          'first render: on a warm server (every incident page read once through the API before a size is measured), from navigation start (already signed in: the session cookie is set through the API first) to the end of the frame that first shows clusters or pins after body[data-ready=true], timed in the page; ready: body[data-ready=true]; fetched: the last page of GET /api/incidents received.',
          're-render: main-thread time of one moveend (the incident layer redraws what is in view; zoom 5 over Europe and Africa) including the style and layout it causes, median of 7. fps: requestAnimationFrame callbacks per second while the page pans (320×200 px, animated) and zooms (4–7) without pause, each move re-rendering what is in view; p95 frame: 95th percentile of the time between frames; blocked: share of the time spent in tasks over 50 ms (Long Tasks API).',
          'The empty map (control) is the same page with no incident loaded (live ones still arrive): its fps is the most this browser on this machine reaches, whatever the incident layer does. Headless chromium with --disable-gpu composites and rasterizes in software, and never draws faster than its 60 Hz frame clock: 60 fps is the ceiling, and results vary more than on a desktop with a GPU. The browser shares the 2 cores with the server, PostgreSQL, Redis and the poster, and the server does real work for every live update.',
          `live: an operator POSTs incidents (random points, all severities) at ${sizes.livePerSecond}/s through the API; achieved ${achieved.toFixed(0)}/s (median over rounds), ${failed} failed; "live received" counts the frames the page's socket got while the frames were counted.`,
          'Base-map tiles are a blank inline image (no tile server is reachable here); the bundled world outline is drawn as usual. The page is an operator\'s (draggable markers).',
          `1-minute load average during the run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${cpus().length} cores (the benchmark itself accounts for roughly 2 while the page pans with live updates); more means other processes were competing for the CPU.`,
          ...(profile ? [`profiled run (MAP_BENCH_PROFILE): the profiler slows the page; profiles in ${profile.dir}`] : []),
          ...(tiny ? ['tiny run: sizes and durations only prove the harness works; the targets are for 50 000 incidents and are not judged here.'] : []),
        ],
      },
    ]
  } finally {
    await browser?.close().catch(() => {})
    if (server) {
      // a graceful stop first (it closes its sockets and pool), then make sure the whole process group is gone
      await Promise.race([server.stop().catch(() => null), sleep(5_000)])
      server.kill()
    }
    process.off('exit', killServer)
    await database.drop()
  }
}

export const map: Scenario = {
  name: 'map',
  title: 'The map at scale: first render and frame rate of the dashboard with 50 000 incidents, in chromium',
  run,
}
