import { loadavg } from 'node:os'
import { median, type BenchOptions, type Scenario, type ScenarioResult } from '../harness/report.ts'
import { cpuSeconds, ourDatabase, sleep, startOurServer, startPeer, startSwarm, steadyRss, type OurServer, type PeerServer } from '../fan-out/processes.ts'
import type { SubjectKind } from '../fan-out/protocol.ts'

// Idle sockets: what one more authenticated, idle socket costs the server in
// resident memory, beside a bare `ws` server holding as many (and Socket.IO,
// for reference). Measured on the process itself (/proc/<pid>/status VmRSS;
// for ours the node process tsx starts, not tsx), as growth between a few
// warm-up sockets and the full count, so start-up memory does not count.

const SUBJECTS: { kind: SubjectKind; label: string }[] = [
  { kind: 'ours', label: 'ours (authenticated /ws)' },
  { kind: 'bare', label: 'bare ws (floor)' },
  { kind: 'socketio', label: 'Socket.IO + Redis adapter' },
]

const UNITS = {
  'RSS per socket': 'KiB',
  'RSS with all sockets': 'MiB',
  'RSS growth': 'MiB',
  handshakes: 'sockets/s',
  'idle CPU': '% of a core',
}
type Metric = keyof typeof UNITS

export const idleSockets: Scenario = {
  name: 'idle-sockets',
  title: 'Idle sockets: resident memory per authenticated idle socket, beside bare ws',
  async run(options: BenchOptions): Promise<ScenarioResult[]> {
    const { tiny, rounds, log } = options
    const sockets = tiny ? 50 : 10_000
    // the first sockets load code and grow pools that every later socket shares: not per-socket cost
    const warm = tiny ? 5 : 100
    const settleMs = tiny ? 500 : 2000
    const load = [loadavg()[0]!]
    const values = new Map<SubjectKind, Record<Metric, number[]>>(
      SUBJECTS.map(({ kind }) => [kind, Object.fromEntries(Object.keys(UNITS).map((m) => [m, []])) as unknown as Record<Metric, number[]>]),
    )

    const database = await ourDatabase('idle-sockets')
    try {
      for (let round = 0; round < rounds; round++) {
        for (const { kind, label } of SUBJECTS) {
          // a fresh process every time: a heap grown by an earlier round would hide the growth
          let ours: OurServer | undefined
          let peer: PeerServer | undefined
          const swarm = await (async () => {
            if (kind === 'ours') ours = await startOurServer(database.databaseUrl, database.redisUrl)
            // only the bare server may collect on demand (--expose-gc); ours and Socket.IO just get time to settle
            else peer = await startPeer(kind, { REDIS_URL: database.redisUrl }, kind === 'bare' ? ['--expose-gc'] : [])
            return startSwarm({ kind, baseUrl: (ours ?? peer)!.url, sessionKey: ours?.viewerKey })
          })().catch(async (error: unknown) => {
            await Promise.allSettled([ours?.stop(), peer?.stop()])
            throw error
          })
          const server = (ours ?? peer)!
          const settled = async () => {
            await sleep(settleMs)
            if (kind === 'bare') await fetch(`${server.url}/gc`)
            return steadyRss(server.pid)
          }
          try {
            swarm.send({ cmd: 'connect', total: warm, concurrency: 50 })
            await swarm.next('connected', 60_000)
            const before = await settled()

            swarm.send({ cmd: 'connect', total: sockets, concurrency: 100 })
            const connected = await swarm.next('connected', 300_000)
            if (connected.open !== sockets) throw new Error(`${label}: ${connected.open} of ${sockets} sockets open (${connected.failed} failed: ${connected.error})`)
            const cpuBefore = cpuSeconds(server.pid)
            const idleStarted = Date.now()
            const after = await settled()
            const idleCpu = (100 * (cpuSeconds(server.pid) - cpuBefore)) / ((Date.now() - idleStarted) / 1000)

            const series = values.get(kind)!
            series['RSS per socket'].push((after - before) / (sockets - warm) / 1024)
            series['RSS with all sockets'].push(after / 2 ** 20)
            series['RSS growth'].push((after - before) / 2 ** 20)
            series.handshakes.push((sockets - warm) / (connected.ms / 1000))
            series['idle CPU'].push(idleCpu)
            log(
              `round ${round + 1}, ${label}: ${((after - before) / (sockets - warm) / 1024).toFixed(2)} KiB per socket ` +
                `(${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB), idle CPU ${idleCpu.toFixed(1)} %`,
            )
          } finally {
            await swarm.close()
            await Promise.allSettled([ours?.stop(), peer?.stop()])
          }
        }
      }
    } finally {
      await database.drop()
    }
    load.push(loadavg()[0]!)

    const perSocket = (kind: SubjectKind) => median(values.get(kind)!['RSS per socket'])
    const ratio = perSocket('ours') / perSocket('bare')
    return [
      {
        scenario: 'idle-sockets',
        case: `${sockets.toLocaleString('en').replace(/,/g, ' ')} idle sockets on one instance`,
        units: UNITS,
        rows: SUBJECTS.map(({ kind, label }) => ({ subject: label, values: values.get(kind)! })),
        ratios: [
          { label: 'RSS per socket, ours / bare ws', value: ratio },
          { label: 'RSS per socket, ours / Socket.IO', value: perSocket('ours') / perSocket('socketio') },
        ],
        targets: [{ label: 'RSS per idle socket, ours / bare ws', value: ratio, goal: '≤ 1.5×', met: ratio <= 1.5 }],
        notes: [
          `RSS per socket = (VmRSS with ${sockets} sockets − VmRSS with ${warm} warm-up sockets) / ${sockets - warm}; each VmRSS the median of 5 readings 300 ms apart, ${settleMs} ms after the sockets opened. ` +
            `The bare server is collected (global.gc) before each reading; ours and Socket.IO are not (they run without --expose-gc), which if anything flatters the floor.`,
          'Each subject in a fresh process each round; every socket of ours is authenticated with one shared viewer session; the peers authenticate nothing. ' +
            'handshakes = sockets opened per second, 100 at a time, from a separate client process; idle CPU = the server process over the readings with every socket open.',
          `Load average (1 min) on the machine: ${load.map((l) => l.toFixed(1)).join(' at the start, ')} at the end.`,
        ],
      },
    ]
  },
}
