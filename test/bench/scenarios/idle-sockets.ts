import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, type BenchOptions, type Scenario, type ScenarioResult } from '../harness/report.ts'
import {
  collectAndMeasure, cpuSeconds, describeLoad, heapProbe, machineLoad, ourDatabase, sleep, startOurServer, startPeer, startSwarm, steadyRss,
  type OurServer, type PeerServer, type ServedSubject,
} from '../fan-out/processes.ts'
import type { SubjectKind } from '../fan-out/protocol.ts'

// Idle sockets: what one more authenticated, idle socket costs the server in
// memory, beside a bare `ws` server holding as many (and Socket.IO, for
// reference). Read from the serving process itself (/proc/<pid>/status VmRSS;
// for ours the node process tsx starts, not tsx), as growth between a few
// warm-up sockets and the full count, so start-up memory does not count.
// Every subject is made to collect its garbage before each reading (by
// heap-probe.mjs, preloaded the same way into all three), which also yields
// the live JS heap: RSS alone can hide objects in heap a server had already
// committed before the sockets came.

const SUBJECTS: { kind: SubjectKind; label: string }[] = [
  { kind: 'ours', label: 'ours (authenticated /ws)' },
  { kind: 'bare', label: 'bare ws (floor)' },
  { kind: 'socketio', label: 'Socket.IO + Redis adapter' },
]

const UNITS = {
  'RSS per socket': 'KiB',
  /** the second half only: start-up heap slack that absorbs the first sockets is used up by then */
  'RSS per socket, 2nd half': 'KiB',
  'JS heap per socket': 'KiB',
  'RSS with all sockets': 'MiB',
  handshakes: 'sockets/s',
  'idle CPU': '% of a core',
}
type Metric = keyof typeof UNITS

interface Reading {
  rss: number
  heapUsed: number
}

export const idleSockets: Scenario = {
  name: 'idle-sockets',
  title: 'Idle sockets: resident memory per authenticated idle socket, beside bare ws',
  async run(options: BenchOptions): Promise<ScenarioResult[]> {
    const { tiny, rounds, log } = options
    const sockets = tiny ? 50 : 10_000
    // the first sockets load code and grow pools that every later socket shares: not per-socket cost
    const warm = tiny ? 5 : 100
    const half = Math.round(sockets / 2)
    const settleMs = tiny ? 500 : 2000
    const loadAtStart = machineLoad()
    const values = new Map<SubjectKind, Record<Metric, number[]>>(
      SUBJECTS.map(({ kind }) => [kind, Object.fromEntries(Object.keys(UNITS).map((m) => [m, []])) as unknown as Record<Metric, number[]>]),
    )

    const probeDir = mkdtempSync(join(tmpdir(), 'heap-probe-'))
    const probe = heapProbe(probeDir)
    const database = await ourDatabase('idle-sockets')
    try {
      for (let round = 0; round < rounds; round++) {
        for (const { kind, label } of SUBJECTS) {
          // a fresh process every time: a heap grown by an earlier round would hide the growth
          // (each start cleans up after itself if it fails)
          const ours: OurServer | undefined = kind === 'ours' ? await startOurServer(database.databaseUrl, database.redisUrl, probe.env) : undefined
          const peer: PeerServer | undefined = ours
            ? undefined
            : await startPeer(kind as Exclude<SubjectKind, 'ours'>, { REDIS_URL: database.redisUrl, HEAP_PROBE_DIR: probeDir }, probe.nodeFlags)
          const server: ServedSubject = (ours ?? peer)!
          const swarm = startSwarm({ kind, baseUrl: server.url, sessionKey: ours?.viewerKey })

          /** opens sockets until `total` are open; how long that took */
          const grow = async (total: number) => {
            swarm.send({ cmd: 'connect', total, concurrency: 100 })
            const connected = await swarm.next('connected', 300_000)
            if (connected.open !== total) throw new Error(`${connected.open} of ${total} sockets open (${connected.failed} failed: ${connected.error})`)
            return connected.ms
          }
          const settled = async (waitMs = settleMs): Promise<Reading> => {
            await sleep(waitMs)
            const { heapUsed } = await collectAndMeasure(server.pid, probeDir)
            return { rss: await steadyRss(server.pid), heapUsed }
          }

          try {
            await grow(warm)
            const before = await settled()
            // halfway: a server that started with free heap fills it first, so the
            // second half shows what a socket costs once that slack is gone
            await grow(half)
            const middle = await settled()
            const ms = await grow(sockets)
            // idle CPU over the settling time, before the forced GC of the reading
            const cpuBefore = cpuSeconds(server.pid)
            await sleep(settleMs)
            const idleCpu = (100 * (cpuSeconds(server.pid) - cpuBefore)) / (settleMs / 1000)
            const after = await settled(0)

            const perSocket = (from: Reading, field: keyof Reading, count: number) => (after[field] - from[field]) / count / 1024
            const series = values.get(kind)!
            series['RSS per socket'].push(perSocket(before, 'rss', sockets - warm))
            series['RSS per socket, 2nd half'].push(perSocket(middle, 'rss', sockets - half))
            series['JS heap per socket'].push(perSocket(before, 'heapUsed', sockets - warm))
            series['RSS with all sockets'].push(after.rss / 2 ** 20)
            series.handshakes.push((sockets - half) / (ms / 1000))
            series['idle CPU'].push(idleCpu)
            const mib = (r: Reading) => (r.rss / 2 ** 20).toFixed(0)
            log(
              `round ${round + 1}, ${label}: ${perSocket(before, 'rss', sockets - warm).toFixed(2)} KiB RSS per socket ` +
                `(${mib(before)} → ${mib(middle)} → ${mib(after)} MiB; ${perSocket(middle, 'rss', sockets - half).toFixed(2)} KiB in the second half), ` +
                `${perSocket(before, 'heapUsed', sockets - warm).toFixed(2)} KiB JS heap per socket, idle CPU ${idleCpu.toFixed(1)} %`,
            )
          } catch (error) {
            throw new Error(`${label}: ${(error as Error).message}\n--- the server's last output:\n${server.output()}`, { cause: error })
          } finally {
            await swarm.close()
            await Promise.allSettled([ours?.stop(), peer?.stop()])
          }
        }
      }
    } finally {
      await database.drop()
      rmSync(probeDir, { recursive: true, force: true })
    }
    const load = describeLoad(loadAtStart, machineLoad())

    const ratio = (metric: Metric, other: SubjectKind = 'bare') => median(values.get('ours')![metric]) / median(values.get(other)![metric])
    const rss = ratio('RSS per socket')
    return [
      {
        scenario: 'idle-sockets',
        case: `${sockets.toLocaleString('en').replace(/,/g, ' ')} idle sockets on one instance`,
        units: UNITS,
        rows: SUBJECTS.map(({ kind, label }) => ({ subject: label, values: values.get(kind)! })),
        ratios: [
          { label: 'RSS per socket, ours / bare ws', value: rss },
          { label: 'RSS per socket in the second half, ours / bare ws', value: ratio('RSS per socket, 2nd half') },
          { label: 'JS heap per socket, ours / bare ws', value: ratio('JS heap per socket') },
          { label: 'RSS per socket, ours / Socket.IO', value: ratio('RSS per socket', 'socketio') },
        ],
        targets: [{ label: 'RSS per idle socket, ours / bare ws', value: rss, goal: '≤ 1.5×', met: rss <= 1.5 }],
        notes: [
          `RSS per socket = (VmRSS with ${sockets} sockets − VmRSS with ${warm} warm-up sockets) / ${sockets - warm}, the issue's measure and the target's; ` +
            `2nd half = (VmRSS with ${sockets} − VmRSS with ${half}) / ${sockets - half}; JS heap per socket = growth of heapUsed over the same span as RSS per socket. ` +
            `Each reading ${settleMs} ms after the sockets opened and right after a forced full GC (heap-probe.mjs, preloaded into all three alike); VmRSS the median of 5 readings 300 ms apart.`,
          'RSS can miss objects that land in heap a server had committed before the sockets came (ours starts with more: migrations, more modules), so the JS heap and the second half are the fairer comparisons.',
          'Each subject in a fresh process each round; every socket of ours is authenticated with one shared viewer session; the peers authenticate nothing. ' +
            `handshakes = sockets opened per second in the second half, 100 at a time, from a separate client process; idle CPU = the server process over the ${settleMs} ms it is left alone with every socket open (before the forced GC).`,
          ...(tiny ? ['At a few dozen sockets the growth is mostly heap and compiled code that is not per socket: only the full size means anything.'] : []),
          load,
        ],
      },
    ]
  },
}
