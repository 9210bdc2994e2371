import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDatabase } from '../../helpers/postgres.ts'
import { median, type BenchOptions, type Scenario, type ScenarioResult } from '../harness/report.ts'
import { claimRedisDatabase, collectAndMeasure, cpuSeconds, describeLoad, heapProbe, machineLoad, steadyRss } from '../fan-out/processes.ts'
import { pairedRatio } from '../harness/paired-ratio.ts'
import type { IdleKind } from '../memory/idle-clients.ts'
import { linearFit, type Fit } from '../memory/regression.ts'
import { startClients, startOurs, startPeer, type Subject } from '../memory/subjects.ts'

// Idle sockets: what one more authenticated, idle socket costs the server in
// memory, beside a bare `ws` server and Socket.IO holding as many. The cost
// per socket is the SLOPE of a straight line through readings at several
// socket counts, each taken right after a forced full GC (heap-probe.mjs,
// preloaded into every subject alike): what the server had allocated before
// the sockets came, and any slack a heap starts with, lands in the
// intercept, not in the slope. Each subject runs in a fresh process and goes
// through the same sequence of counts. Ours holds distinct sessions, one per
// SOCKETS_PER_SESSION sockets, as many viewers with a few tabs each would.

const SUBJECTS: { kind: IdleKind; label: string }[] = [
  { kind: 'ours', label: 'ours (authenticated /ws)' },
  { kind: 'bare', label: 'bare ws (floor)' },
  { kind: 'socketio', label: 'Socket.IO (WebSocket transport)' },
]
const SOCKETS_PER_SESSION = 10
const TARGET_HEAP_RATIO = 1.2

const UNITS = {
  'heap per socket': 'KiB, slope',
  'heap ± SE': 'KiB',
  'RSS per socket': 'KiB, slope',
  'RSS ± SE': 'KiB',
  'RSS R²': '0–1',
  'RSS with all sockets': 'MiB',
  handshakes: 'sockets/s',
  'idle CPU': '% of a core',
}
type Metric = keyof typeof UNITS

interface Size {
  /** sockets opened (and readings taken) before the series: code loaded and pools grown for the first socket are not per socket */
  warm: number
  counts: number[]
  settleMs: number
}
const TINY: Size = { warm: 5, counts: [20, 40, 60], settleMs: 300 }
const FULL: Size = { warm: 100, counts: [1000, 2500, 5000, 7500, 10_000], settleMs: 2000 }

export const idleSockets: Scenario = {
  name: 'idle-sockets',
  title: 'Idle sockets: memory per authenticated idle socket (regression slope), beside bare ws and Socket.IO',
  async run(options: BenchOptions): Promise<ScenarioResult[]> {
    const { tiny, rounds, log } = options
    const size = tiny ? TINY : FULL
    const most = size.counts.at(-1)!
    const sessions = Math.ceil(most / SOCKETS_PER_SESSION)
    const loadAtStart = machineLoad()
    const values = new Map<IdleKind, Record<Metric, number[]>>(
      SUBJECTS.map(({ kind }) => [kind, Object.fromEntries(Object.keys(UNITS).map((m) => [m, []])) as unknown as Record<Metric, number[]>]),
    )
    const fits = new Map<IdleKind, { heap: Fit; rss: Fit }[]>(SUBJECTS.map(({ kind }) => [kind, []]))

    const closedNotes: string[] = []
    const probeDir = mkdtempSync(join(tmpdir(), 'heap-probe-'))
    const probe = heapProbe(probeDir)
    try {
      for (let round = 0; round < rounds; round++) {
        // the order turns each round, so no subject always runs first (or after the same one)
        const order = SUBJECTS.map((_, i) => SUBJECTS[(i + round) % SUBJECTS.length]!)
        for (const { kind, label } of order) {
          const fit = await measure(kind, label, round)
          fits.get(kind)!.push(fit.fits)
          const series = values.get(kind)!
          series['heap per socket'].push(fit.fits.heap.slope / 1024)
          series['heap ± SE'].push(fit.fits.heap.slopeSe / 1024)
          series['RSS per socket'].push(fit.fits.rss.slope / 1024)
          series['RSS ± SE'].push(fit.fits.rss.slopeSe / 1024)
          series['RSS R²'].push(fit.fits.rss.r2)
          series['RSS with all sockets'].push(fit.rssAtMost / 2 ** 20)
          series.handshakes.push(fit.handshakes)
          series['idle CPU'].push(fit.idleCpu)
        }
      }
    } finally {
      rmSync(probeDir, { recursive: true, force: true })
    }

    /** one subject, one fresh process: the readings at each count and their fits */
    async function measure(kind: IdleKind, label: string, round: number) {
      // a database and Redis of its own each time: ours starts as on a fresh install, and the sessions are new
      const database = kind === 'ours' ? await createDatabase() : undefined
      const redis = kind === 'ours' ? await claimRedisDatabase('idle-sockets').catch(async (e) => (await database!.drop(), Promise.reject(e))) : undefined
      let server: Subject | undefined
      let clients: ReturnType<typeof startClients> | undefined
      try {
        server = kind === 'ours'
          ? await startOurs(database!.url, redis!.url, sessions, `idle${round}`, probe.env)
          : await startPeer(kind, probe.nodeFlags, { HEAP_PROBE_DIR: probeDir })
        clients = startClients({ kind, baseUrl: server.url, sessionKeys: server.sessionKeys, socketsPerSession: SOCKETS_PER_SESSION })
        const pid = server.pid
        const timeout = 300_000
        await clients.grow(size.warm, timeout)
        const heap: number[] = []
        const rss: number[] = []
        let handshakes = NaN
        let previous = size.warm
        let closedByServer: { closed: number; closedWith?: string } = { closed: 0 }
        for (const count of size.counts) {
          const { ms, ...closedSoFar } = await clients.grow(count, timeout)
          closedByServer = closedSoFar
          handshakes = (count - previous) / (ms / 1000)
          previous = count
          await new Promise((resolve) => setTimeout(resolve, size.settleMs))
          heap.push((await collectAndMeasure(pid, probeDir)).heapUsed)
          rss.push(await steadyRss(pid))
        }
        // idle CPU with every socket open, over the settling time (ours pings its sockets; the peers do nothing)
        const cpuBefore = cpuSeconds(pid)
        await new Promise((resolve) => setTimeout(resolve, size.settleMs))
        const idleCpu = (100 * (cpuSeconds(pid) - cpuBefore)) / (size.settleMs / 1000)
        const fits = { heap: linearFit(size.counts, heap), rss: linearFit(size.counts, rss) }
        const kib = (f: Fit) => `${(f.slope / 1024).toFixed(2)} ± ${(f.slopeSe / 1024).toFixed(2)} KiB (R² ${f.r2.toFixed(3)})`
        log(`round ${round + 1}, ${label}: heap ${kib(fits.heap)}, RSS ${kib(fits.rss)} per socket; RSS ${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(' → ')} MiB; idle CPU ${idleCpu.toFixed(1)} %`)
        if (closedByServer.closed) {
          closedNotes.push(`${label}, round ${round + 1}: the server closed ${closedByServer.closed} open sockets while others were joining (the first with ${closedByServer.closedWith}); the clients opened them again`)
          log(closedNotes.at(-1)!)
        }
        return { fits, rssAtMost: rss.at(-1)!, handshakes, idleCpu }
      } catch (error) {
        throw new Error(`${label}: ${(error as Error).message}\n--- the server's last output:\n${server?.output() ?? ''}`, { cause: error })
      } finally {
        await clients?.close()
        await server?.stop()
        await Promise.allSettled([database?.drop(), redis?.release()])
      }
    }

    const load = describeLoad(loadAtStart, machineLoad())
    const slopes = (kind: IdleKind, metric: Metric) => values.get(kind)![metric]
    const heap = pairedRatio(`JS heap per socket, ours / bare ws (geometric mean of ${rounds} round(s))`, slopes('ours', 'heap per socket'), slopes('bare', 'heap per socket'))
    const ratio = (metric: Metric, other: IdleKind) => median(slopes('ours', metric)) / median(slopes(other, metric))
    const counts = size.counts.map((n) => n.toLocaleString('en').replace(/,/g, ' ')).join(', ')
    return [
      {
        scenario: 'idle-sockets',
        case: `idle sockets on one instance, slope over ${counts} sockets`,
        units: UNITS,
        rows: SUBJECTS.map(({ kind, label }) => ({ subject: label, values: values.get(kind)! })),
        ratios: [
          heap,
          { label: 'RSS per socket, ours / bare ws (medians of the slopes)', value: ratio('RSS per socket', 'bare') },
          { label: 'JS heap per socket, ours / Socket.IO (medians of the slopes)', value: ratio('heap per socket', 'socketio') },
        ],
        targets: [{ label: 'JS heap per idle socket, ours / bare ws', value: heap.value, rounds: heap.rounds, goal: `≤ ${TARGET_HEAP_RATIO}×`, met: heap.value <= TARGET_HEAP_RATIO }],
        notes: [
          `Per socket = the slope of a least-squares line through the readings at ${counts} open sockets (± its standard error), ` +
            `after ${size.warm} warm-up sockets. Each reading ${size.settleMs} ms after the sockets opened: JS heap (heapUsed) right after a forced ` +
            'full GC (heap-probe.mjs, preloaded into every subject alike), then VmRSS (the median of 5 readings 300 ms apart).',
          `Ours: every socket authenticated on the upgrade (Authorization: Bearer), ${SOCKETS_PER_SESSION} sockets per session, ` +
            `${sessions} distinct viewers each signed in once (sessions made by the app's own session repository), the server's default socket quotas. ` +
            'The peers authenticate nothing and keep no state of their own per socket. Socket.IO runs its default in-memory adapter.',
          'Each subject runs in a fresh process every round (ours on a fresh database), through the same sequence of counts; the order of the ' +
            'subjects turns each round. The heap ratio pairs the subjects\' slopes round by round (a 95 % t-interval with two or more rounds).',
          'RSS depends on the allocator as much as on the program: glibc malloc and V8 keep freed pages, so a process that once needed more ' +
            'memory (start-up, migrations) can absorb new sockets without growing, and R² shows how straight the line was. The JS heap after a ' +
            'forced GC is what the target is judged on.',
          `handshakes = sockets opened per second in the last step, 100 at a time, from a separate client process; idle CPU = the server over ` +
            `${size.settleMs} ms with every socket open.`,
          ...closedNotes,
          ...(tiny ? ['At a few dozen sockets the slope is mostly noise: only the full size means anything.'] : []),
          load,
        ],
      },
    ]
  },
}
