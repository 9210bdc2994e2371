import { Worker } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { openRawSocket, type RawSocket } from './raw-client.ts'
import type { PosterCommand, PosterData, PosterMessage } from './poster.ts'
import { FEATURE_MARK, wireOf, type ConnectReport, type PostPlan, type RunReport, type SwarmCommand, type SwarmConfig, type SwarmReport } from './protocol.ts'

// The client swarm: one process holding N WebSocket clients of one server,
// forked by the bench (fork IPC carries commands in, reports out). It also
// sends the POSTs, so a POST's send time and every client's receive time of
// that incident's frame come from one clock (performance.now()).
//
// Every subject gets the same client: a minimal WebSocket (raw-client.ts) that
// only looks for the feature id in the raw bytes. Socket.IO is spoken at the
// wire level (Engine.IO v4 over a WebSocket) rather than through
// socket.io-client, so the swarm's cost per frame is the same, and small, for
// all servers and the numbers compare the servers, not client libraries.

const config = JSON.parse(process.argv[2]!) as SwarmConfig
const report = (message: SwarmReport) => process.send!(message)

// stops by itself: when the bench goes away, or after its lifetime whatever happens
process.on('disconnect', () => process.exit(0))
setTimeout(() => process.exit(3), config.maxLifetimeMs).unref()

const MARK = Buffer.from(FEATURE_MARK)
const sockets: RawSocket[] = []
let collecting: Collector | null = null
let closedDuringRun = 0
/** when any socket last received a frame, run or not: the settle before a run waits on it */
let lastFrameAt = 0

/** Receive times of one run: flat typed arrays, because a 10 000-socket run is millions of frames. */
class Collector {
  count = 0
  features: Int32Array
  times: Float64Array
  lastAt = 0
  frameBytes = 0
  constructor(capacity: number) {
    this.features = new Int32Array(capacity)
    this.times = new Float64Array(capacity)
  }
  add(feature: number, at: number, bytes: number) {
    if (this.count === this.times.length) this.grow()
    this.features[this.count] = feature
    this.times[this.count++] = at
    this.lastAt = at
    this.frameBytes = bytes
  }
  private grow() {
    const features = new Int32Array(this.features.length * 2)
    const times = new Float64Array(this.times.length * 2)
    features.set(this.features)
    times.set(this.times)
    this.features = features
    this.times = times
  }
}

/** The feature number after `"incident:` in data[start..end), without decoding or parsing the frame (that would cost the swarm more than the server). */
function onFrame(data: Buffer, start: number, end: number): void {
  const at = performance.now()
  lastFrameAt = at
  if (!collecting) return
  const mark = data.indexOf(MARK, start)
  if (mark < 0 || mark >= end) return
  let n = 0
  for (let i = mark + MARK.length; i < end; i++) {
    const digit = data[i]! - 48
    if (digit < 0 || digit > 9) break
    n = n * 10 + digit
  }
  collecting.add(n, at, end - start)
}

// ---- connecting ----

const ASCII_0 = 0x30
const ASCII_2 = 0x32
const ASCII_4 = 0x34

function openOne(): Promise<RawSocket> {
  const wsBase = config.baseUrl.replace(/^http/, 'ws')
  const headers: Record<string, string> = config.sessionKey ? { authorization: `Bearer ${config.sessionKey}` } : {}
  const onClose = () => void (collecting && closedDuringRun++)
  if (wireOf(config.kind) !== 'socketio') {
    return openRawSocket(wireOf(config.kind) === 'ours' ? `${wsBase}/ws` : `${wsBase}/`, headers, { message: onFrame, close: onClose })
  }
  // Engine.IO v4: "0{…}" open → we join the default namespace ("40") → "40{…}"
  // connected; "2" ping → "3" pong; "42[event, payload]" is an event.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error('no Socket.IO connect within 30 s')), 30_000)
    let settled = false
    let opened: RawSocket | undefined
    function settle(error: Error | null, socket?: RawSocket) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (error) {
        ;(socket ?? opened)?.terminate()
        reject(error)
      } else {
        resolve(socket!)
      }
    }
    const message = (data: Buffer, start: number, end: number, socket: RawSocket) => {
      const type = data[start]
      if (type === ASCII_4) {
        if (data[start + 1] === ASCII_2) onFrame(data, start + 2, end)
        else if (data[start + 1] === ASCII_0) settle(null, socket)
        else if (data[start + 1] === ASCII_4) settle(new Error(`socket.io refused: ${data.toString('utf8', start, end)}`), socket)
      } else if (type === ASCII_2) {
        socket.sendText('3')
      } else if (type === ASCII_0) {
        socket.sendText('40')
      }
    }
    openRawSocket(`${wsBase}/socket.io/?EIO=4&transport=websocket`, headers, { message, close: onClose }).then(
      (socket) => void (opened = socket),
      (error: Error) => settle(error),
    )
  })
}

async function connect(total: number, concurrency: number): Promise<ConnectReport> {
  const started = performance.now()
  let failed = 0
  let error: string | undefined
  let next = sockets.length
  // a bounded number of handshakes in flight: a real crowd arrives over time, not all in one tick
  await Promise.all(
    Array.from({ length: Math.min(concurrency, Math.max(0, total - next)) }, async () => {
      while (next < total) {
        next++
        try {
          sockets.push(await openOne())
        } catch (e) {
          failed++
          error ??= (e as Error).message
        }
      }
    }),
  )
  return { type: 'connected', open: sockets.filter((s) => s.open).length, failed, error, ms: performance.now() - started }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function run(plan: PostPlan): Promise<RunReport> {
  // the previous point's backlog first: its frames would land in this one's window
  const settleStarted = performance.now()
  let settled = false
  for (;;) {
    const now = performance.now()
    if (now - Math.max(lastFrameAt, settleStarted - plan.settleMs) >= plan.settleMs) {
      settled = true
      break
    }
    if (now - settleStarted > plan.settleLimitMs) break
    await sleep(50)
  }
  const settle = { ms: performance.now() - settleStarted, settled }

  const open = sockets.filter((s) => s.open).length
  const interval = 1000 / plan.rate
  const warmPosts = Math.round(plan.warmUpSeconds * plan.rate)
  const totalPosts = warmPosts + Math.round(plan.seconds * plan.rate)
  const collector = new Collector(Math.ceil(totalPosts * open * 1.05) + 1024)
  /** feature number -> post index, as the answers (ours) or the plan (peers) tell */
  const postOf = new Map<number, number>()
  const due = new Float64Array(totalPosts)
  const answered = new Uint8Array(totalPosts)
  let postErrors = 0
  let firstPostError: string | undefined
  const answeredIn: number[] = []
  let answeredCount = 0

  // the posts come from a thread of their own (poster.ts), on the schedule; loaded before the clock starts
  const poster = new Worker(new URL('./poster-boot.mjs', import.meta.url), {
    execArgv: [], // poster-boot.mjs registers tsx itself
    workerData: { kind: config.kind, baseUrl: config.baseUrl, postKey: plan.postKey, idBase: plan.idBase, rate: plan.rate, posts: totalPosts } satisfies PosterData,
  })
  // set from the worker's events: a holder, so the checks below are not narrowed away
  const failed: { error?: Error } = {}
  let ready: (() => void) | undefined
  let abandonedAck: (() => void) | undefined
  const lags: number[] = []
  poster.on('error', (error) => {
    failed.error ??= error
    ready?.()
  })
  poster.on('message', (message: PosterMessage) => {
    if (message.type === 'ready') return ready?.()
    if (message.type === 'abandoned') return abandonedAck?.()
    if (answered[message.i]) return
    answered[message.i] = 1
    answeredCount++
    if (message.i >= warmPosts) lags.push(message.lagMs) // the measured posts: the warm-up is where the thread warms up
    if (message.feature === null) {
      postErrors++
      firstPostError ??= message.error
    } else {
      postOf.set(message.feature, message.i)
      answeredIn.push(message.answerMs)
    }
  })
  await new Promise<void>((resolve) => (ready = resolve))
  if (failed.error) {
    await poster.terminate()
    throw new Error(`the poster thread failed: ${failed.error.stack}`)
  }

  closedDuringRun = 0
  collecting = collector
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const started = performance.now() + 10 // the first post is due a moment from now, not already late
  for (let i = 0; i < totalPosts; i++) due[i] = started + i * interval
  const windowStart = started + warmPosts * interval
  const windowEnd = started + totalPosts * interval
  const lastDue = due[totalPosts - 1]!
  poster.postMessage({ cmd: 'start', startAt: performance.timeOrigin + started } satisfies PosterCommand)
  // a peer's frames are known by their number before the answer (which may never come by the cut-off)
  if (config.kind !== 'ours') for (let i = 0; i < totalPosts; i++) postOf.set(plan.idBase + i, i)
  while (performance.now() < lastDue) {
    if (failed.error) break
    await sleep(Math.min(250, lastDue - performance.now()))
  }

  // the measured frames still on their way: until all are in, or (every post
  // answered) nothing came for `quietMs`, or the cut-off
  const expected = (totalPosts - warmPosts) * open
  let ending: RunReport['ending'] = 'cut-off'
  const allAnswered = () => answeredCount === totalPosts
  for (;;) {
    const now = performance.now()
    // the cheap test first: the exact count walks every frame, millions of them
    if (allAnswered() && collector.count >= expected && measuredReceived(collector, postOf, warmPosts, open, totalPosts).received >= expected) {
      ending = 'complete'
      break
    }
    if (allAnswered() && now - Math.max(lastDue, collector.lastAt) > plan.quietMs) {
      ending = 'quiet'
      break
    }
    if (now - lastDue > plan.cutOffMs || failed.error) break
    await sleep(Math.min(250, plan.quietMs / 4))
  }
  const endedAt = performance.now()
  collecting = null
  if (ending === 'cut-off' && !failed.error) {
    await new Promise<void>((resolve) => {
      abandonedAck = resolve
      poster.postMessage({ cmd: 'abandon' } satisfies PosterCommand)
      setTimeout(resolve, 5000).unref()
    })
  }
  await poster.terminate()
  const posterFailure = failed.error as Error | undefined
  if (posterFailure) throw new Error(`the poster thread failed: ${posterFailure.stack}`)
  const usage = process.cpuUsage(cpu)
  const loop = performance.eventLoopUtilization(elu)

  const { received, duplicates, perPost } = measuredReceived(collector, postOf, warmPosts, open, totalPosts)
  // latency from the due time, for every measured frame received, and (censored) every one missing
  let missing = 0
  for (let p = warmPosts; p < totalPosts; p++) missing += open - perPost[p]!
  const latencies = new Float64Array(received + missing)
  const left = perPost.slice() // counted down: duplicates beyond one per socket are not samples
  let k = 0
  let inWindow = 0
  let longestGap = 0
  let previous = windowStart
  for (let j = 0; j < collector.count; j++) {
    const at = collector.times[j]!
    if (at >= windowStart && at <= windowEnd) {
      inWindow++
      if (at - previous > longestGap) longestGap = at - previous
      previous = at
    }
    const p = postOf.get(collector.features[j]!)
    if (p === undefined || p < warmPosts || left[p]! === 0) continue
    left[p]!--
    latencies[k++] = at - due[p]!
  }
  for (let p = warmPosts; p < totalPosts; p++) for (let m = perPost[p]!; m < open; m++) latencies[k++] = endedAt - due[p]!
  const samples = latencies.subarray(0, k).sort()
  const lagsSorted = Float64Array.from(lags).sort()
  const answers = Float64Array.from(answeredIn).sort()
  return {
    type: 'result',
    measuredPosts: totalPosts - warmPosts,
    postErrors,
    firstPostError,
    abandoned: answered.reduce((n, a) => n + (a ? 0 : 1), 0),
    postLatencyMs: { p50: rank(answers, 50), p99: rank(answers, 99) },
    sockets: open,
    expected,
    received,
    duplicates,
    ending,
    deliveredPerSecond: inWindow / ((windowEnd - windowStart) / 1000),
    framesTotal: collector.count,
    latencyMs: { p50: rank(samples, 50), p99: rank(samples, 99), p999: rank(samples, 99.9), max: samples.length ? samples[samples.length - 1]! : NaN },
    posterLagMs: { p99: rank(lagsSorted, 99), max: lagsSorted[lagsSorted.length - 1] ?? NaN },
    settle,
    longestGapMs: Math.max(longestGap, Math.min(windowEnd, endedAt) - previous),
    clientEventLoopUtilization: loop.utilization,
    clientCpuSeconds: (usage.user + usage.system) / 1e6,
    closedDuringRun,
    frameBytes: collector.frameBytes,
  }
}

/** Distinct frames of the measured posts (index ≥ warmPosts): at most one per socket per incident (delivery is at-least-once). */
function measuredReceived(collector: Collector, postOf: Map<number, number>, warmPosts: number, sockets: number, posts: number): { received: number; duplicates: number; perPost: Int32Array } {
  const counts = new Int32Array(posts)
  for (let j = 0; j < collector.count; j++) {
    const p = postOf.get(collector.features[j]!)
    if (p !== undefined && p >= warmPosts) counts[p]!++
  }
  let received = 0
  let duplicates = 0
  for (let p = warmPosts; p < posts; p++) {
    duplicates += Math.max(0, counts[p]! - sockets)
    counts[p] = Math.min(counts[p]!, sockets)
    received += counts[p]!
  }
  return { received, duplicates, perPost: counts }
}

/** Nearest-rank percentile of sorted samples (as harness/stats.ts, without copying millions of them). */
function rank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

// ---- commands ----

process.on('message', (message: SwarmCommand) => {
  const handle = async (): Promise<SwarmReport | undefined> => {
    switch (message.cmd) {
      case 'connect':
        return connect(message.total, message.concurrency)
      case 'run':
        return run(message.plan)
      case 'close':
        for (const socket of sockets) socket.terminate()
        setImmediate(() => process.exit(0))
        return undefined
    }
  }
  handle().then(
    (result) => result && report(result),
    (error: Error) => report({ type: 'error', message: error.stack ?? error.message }),
  )
})
