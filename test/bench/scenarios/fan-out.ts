import { pairedRatio } from '../harness/paired-ratio.ts'
import { median, type BenchOptions, type Ratio, type Row, type Scenario, type ScenarioResult, type Target } from '../harness/report.ts'
import { corePlan, cpuSeconds, storeCpuSeconds, describeLoad, machineLoad, ourDatabase, pin, startOurServer, startPeer, startSwarm, type OurServer, type PeerServer } from '../fan-out/processes.ts'
import type { PostPlan, RunReport, SubjectKind } from '../fan-out/protocol.ts'

// Fan-out: one server instance sending notification frames to N sockets
// under an OPEN-LOOP load: posts on a fixed schedule, whether or not the
// server keeps up, and each frame's latency taken from its post's SCHEDULED
// send time, so a server (or poster) falling behind shows as latency instead
// of slowing the schedule down. Ours goes the whole way (validation, PostGIS
// transaction with the alert check, outbox, relay, Redis XADD, XREAD,
// fan-out); the peers only broadcast what they are POSTed:
// - the floor: bare `ws` with ours' technique at its strongest (answers the
//   POST at once, batches what queues up during a fan-out, frames a batch
//   once and writes that one Buffer to each socket), fan-out/batched-server.ts;
// - Bun's built-in uWebSockets topic publish, the native reference;
// - the naive bare `ws` server (one write per notification per socket);
// - Socket.IO with the Redis streams adapter (the like-for-like peer of our
//   Redis stream) and with the classic Redis (pub/sub) adapter.
// The clients and the poster live in one separate process (fan-out/swarm.ts),
// the same for all, so one clock times both ends. Server and swarm are pinned
// to different cores.

const SUBJECTS: { kind: SubjectKind; label: string }[] = [
  { kind: 'ours', label: 'ours (PostGIS + outbox + Redis stream)' },
  { kind: 'batched', label: 'bare ws (same batching) — floor' },
  { kind: 'bun', label: 'Bun publish (native reference)' },
  { kind: 'bare', label: 'bare ws (naive)' },
  { kind: 'socketio-streams', label: 'Socket.IO + redis-streams-adapter' },
  { kind: 'socketio', label: 'Socket.IO + redis-adapter' },
]
const FLOOR: SubjectKind = 'batched'
const BUN: SubjectKind = 'bun'
/** the subjects the targets are judged on; the others are shown beside them */
const TARGET_SUBJECTS: SubjectKind[] = ['ours', FLOOR, BUN]

/** p99 under this is "keeping up" for the sustained rate */
const P99_GOAL_MS = 100

/** The default ladders: sockets -> posts per second, ascending. */
const DEFAULT_LADDERS: [number, number[]][] = [
  [10_000, [5, 10, 20, 50]],
  [1000, [20, 100, 200]],
]

interface Settings {
  subjects: typeof SUBJECTS
  ladders: [number, number[]][]
  warmUpSeconds: number
  seconds: number
  cutOffMs: number
  quietMs: number
  settleMs: number
  settleLimitMs: number
}

const envNumber = (name: string, fallback: number) => {
  const value = Number(process.env[name])
  return process.env[name] && Number.isFinite(value) && value > 0 ? value : fallback
}
const parseList = (text: string) => text.split(',').map(Number).filter((n) => Number.isFinite(n) && n > 0)

/**
 * The knobs, so a run can be narrowed: BENCH_FANOUT_SIZES=2000,10000 (socket
 * counts), BENCH_FANOUT_RATES=20,50 (posts/s for every size) or
 * "10000:5,10;1000:100" (per size), BENCH_FANOUT_SECONDS (the measured window
 * per point), BENCH_FANOUT_WARMUP_SECONDS, BENCH_FANOUT_CUTOFF_SECONDS (how long
 * after the last post's due time an overloaded subject is waited for),
 * BENCH_FANOUT_SUBJECTS=ours,batched (kinds, see SUBJECTS; the targets need
 * ours, batched and bun), BENCH_FANOUT_ROUNDS (fewer rounds than --rounds: a
 * round of the full ladder is the longest part of a run; every row shows its count).
 */
function settings(tiny: boolean): Settings {
  if (tiny) return { subjects: SUBJECTS, ladders: [[20, [20]]], warmUpSeconds: 1, seconds: 2, cutOffMs: 5000, quietMs: 2000, settleMs: 300, settleLimitMs: 5000 }
  const sizes = process.env.BENCH_FANOUT_SIZES ? parseList(process.env.BENCH_FANOUT_SIZES).filter((n) => Number.isInteger(n) && n <= 15_000) : DEFAULT_LADDERS.map(([size]) => size)
  const rates = process.env.BENCH_FANOUT_RATES ?? ''
  const perSize = new Map<number, number[]>(
    rates.includes(':')
      ? rates.split(';').map((part) => {
          const [size, list] = part.split(':')
          return [Number(size), parseList(list ?? '')] as [number, number[]]
        })
      : [],
  )
  const everySize = rates && !rates.includes(':') ? parseList(rates) : null
  const ladders = sizes.map((size): [number, number[]] => {
    const ladder = perSize.get(size) ?? everySize ?? DEFAULT_LADDERS.find(([s]) => s === size)?.[1] ?? (size > 2000 ? DEFAULT_LADDERS[0]![1] : DEFAULT_LADDERS[1]![1])
    return [size, [...ladder].sort((a, b) => a - b)]
  })
  const only = process.env.BENCH_FANOUT_SUBJECTS?.split(',')
  return {
    subjects: only ? SUBJECTS.filter((s) => only.includes(s.kind)) : SUBJECTS,
    ladders: ladders.filter(([, ladder]) => ladder.length > 0),
    warmUpSeconds: envNumber('BENCH_FANOUT_WARMUP_SECONDS', 5),
    seconds: envNumber('BENCH_FANOUT_SECONDS', 30),
    cutOffMs: envNumber('BENCH_FANOUT_CUTOFF_SECONDS', 15) * 1000,
    quietMs: 5000,
    settleMs: 1000,
    settleLimitMs: 60_000,
  }
}

const UNITS = {
  delivered: 'frames/s',
  p50: 'ms',
  p99: 'ms',
  'p99.9': 'ms',
  lost: 'frames',
  'late at cut-off': 'frames',
  'server CPU': 'µs/frame',
  'PostgreSQL + Redis CPU': 'µs/frame',
  'p50 POST answered': 'ms',
  'swarm loop busy': '%',
  'poster lag p99': 'ms',
}
type Metric = keyof typeof UNITS
type Series = Partial<Record<Metric, number[]>>

const SUMMARY_UNITS = {
  'sustained rate': 'posts/s',
  'sustained frames': 'frames/s',
  'delivered at the top rate': 'frames/s',
  'server CPU at the top rate': 'µs/frame',
  'server + PostgreSQL + Redis CPU at the top rate': 'µs/frame',
}
type SummaryMetric = keyof typeof SUMMARY_UNITS

/** What one point tells: its metrics, whether it kept up, whether the swarm set the pace. */
interface Point {
  metrics: Partial<Record<Metric, number>>
  keptUp: boolean
  /** the swarm's loop was over 90 % busy: it may have read frames later than they came */
  swarmBound: boolean
  /** the poster sent late (p99 over 20 ms behind schedule): latencies include the swarm's own lateness */
  posterLate: boolean
  cutOff: boolean
  unsettled: boolean
  lost: number
  closed: number
}

function judge(result: RunReport, serverCpu: number, storeCpu: number): Point {
  const cutOff = result.ending === 'cut-off'
  const missing = result.expected - result.received
  const metrics: Partial<Record<Metric, number>> = {
    delivered: result.deliveredPerSecond,
    p50: result.latencyMs.p50,
    p99: result.latencyMs.p99,
    'p99.9': result.latencyMs.p999,
    // after a cut-off the missing frames may only be late: they are not called lost
    ...(cutOff ? { 'late at cut-off': missing } : { lost: missing }),
    'server CPU': (serverCpu * 1e6) / Math.max(1, result.framesTotal),
    'PostgreSQL + Redis CPU': (storeCpu * 1e6) / Math.max(1, result.framesTotal),
    'p50 POST answered': result.postLatencyMs.p50,
    'swarm loop busy': 100 * result.clientEventLoopUtilization,
    'poster lag p99': result.posterLagMs.p99,
  }
  return {
    metrics,
    keptUp: !cutOff && missing === 0 && result.postErrors === 0 && result.latencyMs.p99 < P99_GOAL_MS,
    swarmBound: result.clientEventLoopUtilization > 0.9,
    posterLate: result.posterLagMs.p99 > 20,
    cutOff,
    unsettled: !result.settle.settled,
    lost: cutOff ? 0 : missing,
    closed: result.closedDuringRun,
  }
}

export const fanOut: Scenario = {
  name: 'fan-out',
  title: 'Fan-out: open-loop posts to N sockets on one instance, beside the same-batching bare ws floor, Bun publish, naive ws and Socket.IO',
  async run(options: BenchOptions): Promise<ScenarioResult[]> {
    const { tiny, log } = options
    const rounds = Math.min(options.rounds, envNumber('BENCH_FANOUT_ROUNDS', options.rounds))
    const set = settings(tiny)
    const cores = corePlan()
    const loadAtStart = machineLoad()
    // "size|rate" -> subject -> metric -> one value per round
    const measured = new Map<string, Map<SubjectKind, Series>>()
    // "size" -> subject -> one value per round
    const summary = new Map<number, Map<SubjectKind, Partial<Record<SummaryMetric, number[]>>>>()
    const flags = new Map<string, { swarmBound: Set<string>; posterLate: Set<string>; cutOff: Set<string>; unsettled: Set<string>; skipped: Set<string>; closed: Map<string, number>; crashed: Map<string, string> }>()
    const frameBytes = new Map<SubjectKind, number>()
    /** frames ours lost in each round, every size and rate */
    const oursLostByRound: number[] = Array.from({ length: rounds }, () => 0)
    let oursCutOff = 0
    let oursClosed = 0
    let swarmBoundRuns = 0
    let posterLateRuns = 0
    /** "size|kind" where the swarm set the pace at the top rate in some round: a ratio there only bounds the truth */
    const swarmBoundAtTop = new Set<string>()
    /** "size|kind" that delivered what was offered at the top rate in some round: its capacity was not reached there */
    const keptPaceAtTop = new Set<string>()
    let runs = 0
    const flagsOf = (key: string) => {
      let f = flags.get(key)
      if (!f) flags.set(key, (f = { swarmBound: new Set(), posterLate: new Set(), cutOff: new Set(), unsettled: new Set(), skipped: new Set(), closed: new Map(), crashed: new Map() }))
      return f
    }

    const database = await ourDatabase('fan-out')
    let idBase = 1_000_000
    try {
      for (let round = 0; round < rounds; round++) {
        // the order turns each round, so a drift in the machine's load does not always hit the same subject
        const order = set.subjects.map((_, i) => set.subjects[(i + round) % set.subjects.length]!)
        for (const [size, ladder] of set.ladders) {
          for (const { kind, label } of order) {
            // a fresh server per subject and size: nothing one left queued takes CPU from the next
            let ours: OurServer | undefined
            let peer: PeerServer | undefined
            if (kind === 'ours') {
              ours = await startOurServer(database.databaseUrl, database.redisUrl)
              if (cores) pin(ours.pid, cores.server)
            } else {
              peer = await startPeer(kind, { REDIS_URL: database.redisUrl }, [], cores?.server)
            }
            const server = (ours ?? peer)!
            let pointKey = ''
            const swarm = startSwarm({ kind, baseUrl: server.url, sessionKey: ours?.viewerKey }, cores?.swarm)
            try {
              swarm.send({ cmd: 'connect', total: size, concurrency: 100 })
              const connected = await swarm.next('connected', 300_000)
              if (connected.open !== size) throw new Error(`${connected.open} of ${size} sockets open (${connected.failed} failed: ${connected.error})`)
              log(`round ${round + 1}, ${size} sockets, ${label}: connected in ${(connected.ms / 1000).toFixed(1)} s`)

              let climbing = true
              const passed: number[] = []
              for (const rate of ladder) {
                const key = (pointKey = `${size}|${rate}`)
                const top = rate === ladder.at(-1)
                // once a subject fails to keep up, only the top rate (its saturation point) is still run
                if (!climbing && !top) {
                  flagsOf(key).skipped.add(label)
                  log(`  ${rate}/s: skipped (did not keep up at a lower rate)`)
                  continue
                }
                const plan: PostPlan = {
                  rate,
                  warmUpSeconds: set.warmUpSeconds,
                  seconds: set.seconds,
                  postKey: ours?.operatorKey,
                  idBase: (idBase += 1_000_000),
                  quietMs: set.quietMs,
                  cutOffMs: set.cutOffMs,
                  settleMs: set.settleMs,
                  settleLimitMs: set.settleLimitMs,
                }
                const cpuBefore = cpuSeconds(server.pid)
                const storeBefore = storeCpuSeconds()
                swarm.send({ cmd: 'run', plan })
                const result = await swarm.next('result', (set.warmUpSeconds + set.seconds) * 1000 + set.cutOffMs + set.settleLimitMs + 120_000)
                const point = judge(result, cpuSeconds(server.pid) - cpuBefore, storeCpuSeconds() - storeBefore)
                record(measured, key, kind, point.metrics)
                frameBytes.set(kind, result.frameBytes)
                runs++
                const f = flagsOf(key)
                if (point.swarmBound) (swarmBoundRuns++, f.swarmBound.add(label))
                if (point.swarmBound && top) swarmBoundAtTop.add(`${size}|${kind}`)
                if (point.posterLate) (posterLateRuns++, f.posterLate.add(label))
                if (point.cutOff) f.cutOff.add(label)
                if (point.unsettled) f.unsettled.add(label)
                if (point.closed) f.closed.set(label, (f.closed.get(label) ?? 0) + point.closed)
                if (kind === 'ours') {
                  oursLostByRound[round]! += point.lost
                  oursCutOff += point.cutOff ? 1 : 0
                  oursClosed += point.closed
                }
                if (point.keptUp) passed.push(rate)
                else climbing = false
                if (result.postErrors) log(`  ${result.postErrors} POSTs failed, the first: ${result.firstPostError}`)
                log(
                  `  ${rate}/s: ${Math.round(result.deliveredPerSecond)} frames/s of ${rate * size} offered, ` +
                    `p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, p99.9 ${result.latencyMs.p999.toFixed(1)} ms, ` +
                    `${result.ending}, missing ${result.expected - result.received} of ${result.expected}, ` +
                    `server CPU ${point.metrics['server CPU']!.toFixed(2)} µs/frame, swarm loop ${(100 * result.clientEventLoopUtilization).toFixed(0)} %, ` +
                    `poster lag p99 ${result.posterLagMs.p99.toFixed(1)} ms` +
                    (result.closedDuringRun ? `, ${result.closedDuringRun} sockets closed by the server` : '') +
                    (result.settle.settled ? '' : ', previous backlog still arriving') +
                    (point.swarmBound ? ' [swarm-bound]' : '') +
                    (point.posterLate ? ' [poster late]' : ''),
                )
              }
              const topKey = `${size}|${ladder.at(-1)}`
              const bySize = summary.get(size) ?? new Map()
              summary.set(size, bySize)
              const series = bySize.get(kind) ?? {}
              bySize.set(kind, series)
              const sustained = passed.length ? Math.max(...passed) : 0
              ;(series['sustained rate'] ??= []).push(sustained)
              ;(series['sustained frames'] ??= []).push(sustained * size)
              ;(series['delivered at the top rate'] ??= []).push(measured.get(topKey)!.get(kind)!.delivered!.at(-1)!)
              const atTop = measured.get(topKey)!.get(kind)!
              ;(series['server CPU at the top rate'] ??= []).push(atTop['server CPU']!.at(-1)!)
              ;(series['server + PostgreSQL + Redis CPU at the top rate'] ??= []).push(atTop['server CPU']!.at(-1)! + atTop['PostgreSQL + Redis CPU']!.at(-1)!)
              if (atTop.delivered!.at(-1)! >= 0.97 * size * ladder.at(-1)!) keptPaceAtTop.add(`${size}|${kind}`)
            } catch (error) {
              // A peer that only illustrates (naive ws, Socket.IO) falling over
              // under the load is a result: it goes in the table, and the run
              // goes on. Ours, the floor or Bun failing leaves no target to judge.
              // the thrown error's own line ("TimeoutError: …"), not the source line Node prints above it
              const why = server.output().split('\n').map((line) => line.trim()).find((line) => /^[A-Z]\w*Error\b/.test(line))
              if (pointKey && !TARGET_SUBJECTS.includes(kind) && /is gone/.test((error as Error).message)) {
                flagsOf(pointKey).crashed.set(label, why ?? 'no reason on its output')
                log(`  ${pointKey.split('|')[1]}/s: the server process died (${why ?? 'no reason on its output'}); the next subject`)
                continue
              }
              // a server that died says why on its stderr
              throw new Error(`${label}, ${size} sockets: ${(error as Error).message}\n--- the server's last output:\n${server.output()}`, { cause: error })
            } finally {
              await swarm.close()
              await server.stop()
            }
          }
        }
      }
    } finally {
      await database.drop()
    }
    const load = describeLoad(loadAtStart, machineLoad())

    const results: ScenarioResult[] = []
    for (const [size, ladder] of set.ladders) {
      for (const rate of ladder) {
        const key = `${size}|${rate}`
        const bySubject = measured.get(key) ?? new Map<SubjectKind, Series>()
        const f = flagsOf(key)
        const list = (s: Set<string>) => [...s].join(', ')
        results.push({
          scenario: 'fan-out',
          case: `${fmtCount(size)} sockets, ${rate} posts/s open loop (${fmtCount(rate * size)} frames/s offered)`,
          units: UNITS,
          rows: set.subjects.map(({ kind, label }) => ({ subject: label, values: (bySubject.get(kind) ?? {}) as Record<string, number[]> })),
          ratios: [],
          targets: [],
          notes: [
            f.skipped.size ? `Not run (the subject had missed p99 < ${P99_GOAL_MS} ms or lost frames at a lower rate): ${list(f.skipped)}.` : '',
            f.cutOff.size ? `Still delivering at the cut-off (${set.cutOffMs / 1000} s after the last post was due; latencies are lower bounds, missing frames counted as late, not lost): ${list(f.cutOff)}.` : '',
            f.swarmBound.size ? `Swarm-bound (the client swarm's loop over 90 % busy: the clients, not only the server, set the pace): ${list(f.swarmBound)}.` : '',
            f.posterLate.size ? `Poster late (its thread over 20 ms behind schedule at p99: latencies include the swarm's own lateness): ${list(f.posterLate)}.` : '',
            f.unsettled.size ? `The previous point's frames were still arriving after ${set.settleLimitMs / 1000} s when this one started: ${list(f.unsettled)}.` : '',
            f.crashed.size ? `The server process died during this point (its stderr): ${[...f.crashed].map(([l, why]) => `${l}: ${why}`).join('; ')}.` : '',
            f.closed.size ? `Sockets closed by the server during the run: ${[...f.closed].map(([l, n]) => `${l} ${n}`).join(', ')}.` : '',
          ].filter(Boolean),
        })
      }
    }

    const oursLost = oursLostByRound.reduce((a, b) => a + b, 0)
    const largest = Math.max(...set.ladders.map(([size]) => size))
    for (const [size, ladder] of set.ladders) {
      const bySubject = summary.get(size)!
      const top = ladder.at(-1)!
      const ratios: Ratio[] = []
      const targets: Target[] = []
      if (size === largest && TARGET_SUBJECTS.every((kind) => bySubject.has(kind))) {
        const ratioOf = (other: SubjectKind): Ratio => {
          const ours = bySubject.get('ours')!['delivered at the top rate']!
          const theirs = bySubject.get(other)!['delivered at the top rate']!
          const label = SUBJECTS.find((s) => s.kind === other)!.label
          return pairedRatio(`delivered frames/s at ${fmtCount(size)} sockets and ${top} posts/s, ours / ${label}`, ours, theirs)
        }
        const vsFloor = ratioOf(FLOOR)
        const vsBun = ratioOf(BUN)
        // what the swarm cannot cap: CPU per frame, the serving process alone and with ours' PostgreSQL and Redis
        const serverCpu = pairedRatio(
          `server CPU per frame at ${fmtCount(size)} sockets and ${top} posts/s, the floor / ours (above 1: ours spends less; PostgreSQL and Redis not counted)`,
          bySubject.get(FLOOR)!['server CPU at the top rate']!, bySubject.get('ours')!['server CPU at the top rate']!,
        )
        const wholeCpu = pairedRatio(
          `server + PostgreSQL + Redis CPU per frame at ${fmtCount(size)} sockets and ${top} posts/s, the floor / ours`,
          bySubject.get(FLOOR)!['server + PostgreSQL + Redis CPU at the top rate']!, bySubject.get('ours')!['server + PostgreSQL + Redis CPU at the top rate']!,
        )
        ratios.push(vsFloor, vsBun, serverCpu, wholeCpu)
        const sustainedOursRounds = bySubject.get('ours')!['sustained rate']!
        const sustainedOurs = median(sustainedOursRounds)
        const sustainedFloor = median(bySubject.get(FLOOR)!['sustained rate']!)
        // Where the swarm set the pace, a delivered rate is a lower bound of what
        // that server could do, and where a subject delivered all that was
        // offered its capacity was not reached: a ratio above the goal then
        // proves nothing (a ratio below it with ours swarm-bound neither).
        const judged = (ratio: Ratio, other: SubjectKind, goal: number, text: string): Target => {
          const met = ratio.value >= goal
          const why = met
            ? swarmBoundAtTop.has(`${size}|${other}`)
              ? 'the swarm, not the server, set the pace of the reference'
              : keptPaceAtTop.has(`${size}|${other}`)
                ? 'the reference delivered all that was offered, so its capacity was not reached'
                : null
            : swarmBoundAtTop.has(`${size}|ours`)
              ? 'the swarm, not the server, set the pace of ours'
              : null
          return { label: text, value: ratio.value, rounds: ratio.rounds, goal: `≥ ${goal}×`, met: met && !why, ...(why && { inconclusive: why }) }
        }
        targets.push(
          judged(vsFloor, FLOOR, 0.9, `delivered frames/s at ${fmtCount(size)} sockets (top rate, ${top} posts/s), ours / the same-batching floor`),
          judged(vsBun, BUN, 0.5, `delivered frames/s at ${fmtCount(size)} sockets (top rate, ${top} posts/s), ours / Bun publish`),
          {
            // the capacity the frames/s target is about, where CPU is the limit: the swarm cannot cap this one
            label: `CPU per frame at ${fmtCount(size)} sockets (top rate), the floor / ours, ours counting its PostgreSQL and Redis: frames/s per core`,
            value: wholeCpu.value,
            rounds: wholeCpu.rounds,
            goal: '≥ 0.9×',
            met: wholeCpu.value >= 0.9,
          },
          {
            // the floor keeping up at no rate of the ladder would make "ours ≥ the floor's" hold vacuously
            label: `highest open-loop rate with p99 < ${P99_GOAL_MS} ms at ${fmtCount(size)} sockets, ours`,
            value: sustainedOurs,
            rounds: sustainedOursRounds,
            unit: 'posts/s',
            goal: `≥ the floor's (${sustainedFloor} posts/s)`,
            met: sustainedFloor > 0 && sustainedOurs >= sustainedFloor,
            ...(sustainedFloor > 0 ? {} : { inconclusive: 'the floor kept up at no rate of the ladder' }),
          },
          {
            label: `frames lost by ours, every size and rate, all rounds together (sockets it cut off: ${oursClosed}); the spread is per round`,
            value: oursLost,
            rounds: oursLostByRound,
            goal: '= 0',
            met: oursLost === 0 && oursClosed === 0,
          },
        )
      }
      results.push({
        scenario: 'fan-out',
        case: `${fmtCount(size)} sockets: sustained rate (highest of ${ladder.join(', ')} posts/s with p99 < ${P99_GOAL_MS} ms, nothing lost) and delivery at the top rate`,
        units: SUMMARY_UNITS,
        rows: set.subjects.map(({ kind, label }) => ({ subject: label, values: (bySubject.get(kind) ?? {}) as Record<string, number[]> })),
        ratios,
        targets,
        notes: size === largest ? notes({ set, cores, frameBytes, swarmBoundRuns, posterLateRuns, runs, oursCutOff, oursClosed, load }) : [],
      })
    }
    return results
  },
}

function record(measured: Map<string, Map<SubjectKind, Series>>, key: string, kind: SubjectKind, values: Partial<Record<Metric, number>>) {
  const bySubject = measured.get(key) ?? new Map<SubjectKind, Series>()
  measured.set(key, bySubject)
  const series = bySubject.get(kind) ?? {}
  bySubject.set(kind, series)
  for (const [metric, value] of Object.entries(values) as [Metric, number][]) (series[metric] ??= []).push(value)
}

function notes(facts: {
  set: Settings
  cores: { server: string; swarm: string } | null
  frameBytes: Map<SubjectKind, number>
  swarmBoundRuns: number
  posterLateRuns: number
  runs: number
  oursCutOff: number
  oursClosed: number
  load: string
}): string[] {
  const { set } = facts
  const bytes = set.subjects.map(({ kind }) => `${kind} ${facts.frameBytes.get(kind) ?? '?'}`).join(', ')
  return [
    `Open loop: post i is due at start + i / rate whether or not earlier posts were answered; each point posts for ${set.warmUpSeconds} s unmeasured, then ${set.seconds} s measured. ` +
      "Latency = a frame's arrival − its post's scheduled send time, over every socket and every post of the measured window; a frame still missing at the end counts as arriving then. " +
      'delivered = frames (of any post) received within the measured window, per second of it. ' +
      `A point keeps up when its p99 < ${P99_GOAL_MS} ms, no POST failed and nothing was lost; the sustained rate is the highest such rate. ` +
      'A subject that misses at one rate skips the higher ones except the top rate, which every subject runs at every size: delivered frames/s there is the saturation measure the ratios use ' +
      '(a subject that keeps up there delivers what is offered and its capacity is not reached: a target met against it is called inconclusive; the CPU per frame ratios do not depend on it).',
    `lost = frames of the measured posts that never came: every POST answered and nothing arrived for ${set.quietMs / 1000} s. ` +
      `A point still delivering ${set.cutOffMs / 1000} s after its last post was due is cut off: its missing frames are "late at cut-off", not lost, and its percentiles are lower bounds. ` +
      `Ours was cut off at ${facts.oursCutOff} point(s) and had ${facts.oursClosed} socket(s) closed by the server (a slow reader is cut off by design).`,
    `One server process per subject, started afresh for each subject and size; the clients and the poster in one separate process with the same minimal WebSocket client for all ` +
      '(fan-out/raw-client.ts; Socket.IO spoken as Engine.IO v4 frames), so send schedule and receipt share one clock. ' +
      (facts.cores
        ? `taskset pins the server to core(s) ${facts.cores.server} and the swarm to core(s) ${facts.cores.swarm}; PostgreSQL and Redis are not pinned (they run wherever the system puts them, taking time from either).`
        : 'Nothing was pinned to a core (BENCH_FANOUT_PIN=0, one core, or no taskset).'),
    `Frame bytes: ${bytes}. Ours authenticates every socket (one viewer session shared by all) and each POST is a real PostGIS save answered after its commit; the peers authenticate nothing, broadcast the POSTed body and answer at once. ` +
      'Both Socket.IO adapters deliver to their own instance at once and publish to Redis for the others; ours delivers what it reads back from its Redis stream.',
    'server CPU is the serving process only, over the whole point (warm-up and drain too) per frame received; PostgreSQL + Redis CPU is every postgres and redis-server process on the machine over the same time (on a shared machine, whatever else they served too). ' +
      'The posts come from a thread of the swarm of their own (fan-out/poster.ts), so reading thousands of sockets does not delay the schedule. ' +
      `Swarm-bound (the swarm's loop over 90 % busy: the clients, not only the server, set the pace) in ${facts.swarmBoundRuns} of ${facts.runs} points; ` +
      `poster late (over 20 ms behind schedule at p99, so latencies include the swarm's own lateness) in ${facts.posterLateRuns}. ` +
      'A delivered ratio is judged inconclusive where the swarm was bound at the top rate and that could flatter the result.',
    facts.load,
  ]
}

const fmtCount = (n: number) => n.toLocaleString('en').replace(/,/g, ' ')
