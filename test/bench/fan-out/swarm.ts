import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { openRawSocket, type RawSocket } from './raw-client.ts'
import { FEATURE_MARK, DESCRIPTION, locationOf, peerFrame, type ConnectReport, type PostPlan, type RunReport, type SwarmCommand, type SwarmConfig, type SwarmReport } from './protocol.ts'

// The client swarm: one process holding N WebSocket clients of one server,
// forked by the bench (fork IPC carries commands in, reports out). It also
// sends the POSTs, so a POST's send time and every client's receive time of
// that incident's frame come from one clock (performance.now()).
//
// Every subject gets the same client: a minimal WebSocket (raw-client.ts) that
// only looks for the feature id in the raw bytes. Socket.IO is spoken at the
// wire level (Engine.IO v4 over a WebSocket) rather than through
// socket.io-client, so the swarm's cost per frame is the same, and small, for
// all three servers and the numbers compare the servers, not client libraries.

const config = JSON.parse(process.argv[2]!) as SwarmConfig
const report = (message: SwarmReport) => process.send!(message)

// stops by itself: when the bench goes away, or after its lifetime whatever happens
process.on('disconnect', () => process.exit(0))
setTimeout(() => process.exit(3), config.maxLifetimeMs).unref()

const MARK = Buffer.from(FEATURE_MARK)
const sockets: RawSocket[] = []
let collecting: Collector | null = null
let closedDuringRun = 0

/** Receive times of one run: flat typed arrays, because a 10 000-socket run is millions of frames. */
class Collector {
  count = 0
  features: Int32Array
  times: Float64Array
  lastAt = 0
  /** the longest time no client got any frame, between the run's first and last frame */
  longestGap = 0
  frameBytes = 0
  constructor(capacity: number) {
    this.features = new Int32Array(capacity)
    this.times = new Float64Array(capacity)
  }
  add(feature: number, at: number, bytes: number) {
    if (this.count === this.times.length) this.grow()
    if (this.count && at - this.lastAt > this.longestGap) this.longestGap = at - this.lastAt
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
  if (config.kind !== 'socketio') {
    return openRawSocket(config.kind === 'ours' ? `${wsBase}/ws` : `${wsBase}/`, headers, { message: onFrame, close: onClose })
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

// ---- posting ----

// a fresh keep-alive pool per run (see `run`): no connection left idle since the last run
let agent = new Agent({ keepAlive: true, maxSockets: 64 })

function post(path: string, body: string, headers: Record<string, string>, retried = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, config.baseUrl)
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      res.on('error', reject)
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      // the server closed an idle keep-alive connection just as we reused it: the
      // request never reached it, so sending it again is safe (what Node's docs advise)
      if (req.reusedSocket && error.code === 'ECONNRESET' && !retried) post(path, body, headers, true).then(resolve, reject)
      else reject(error)
    })
    req.end(body)
  })
}

/** Sends post `i` and records, under its feature number, when it was sent; throws if the server refuses it. */
async function sendPost(plan: PostPlan, i: number, sent: Map<number, number>): Promise<void> {
  if (config.kind === 'ours') {
    const body = JSON.stringify({ name: `bench ${i}`, description: DESCRIPTION, severity: 'high', location: locationOf(i) })
    const at = performance.now()
    const res = await post('/api/incidents', body, { authorization: `Bearer ${plan.postKey}` })
    if (res.status !== 201) throw new Error(`POST /api/incidents: ${res.status} ${res.body.slice(0, 200)}`)
    // ours numbers the incident; its frame may well arrive before this answer, so the
    // match by feature id is made after the run, from the recorded times
    const id = (JSON.parse(res.body) as { id: string }).id
    sent.set(Number(id.slice('incident:'.length)), at)
  } else {
    const n = plan.idBase + i
    const body = peerFrame(n, i)
    sent.set(n, performance.now())
    const res = await post('/broadcast', body, {})
    if (res.status !== 204) {
      sent.delete(n)
      throw new Error(`POST /broadcast: ${res.status} ${res.body.slice(0, 200)}`)
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function run(plan: PostPlan): Promise<RunReport> {
  const open = sockets.filter((s) => s.open).length
  const collector = new Collector(Math.ceil(plan.posts * open * 1.05) + 1024)
  const sent = new Map<number, number>()
  let postErrors = 0
  let firstPostError: string | undefined
  let lastAnswer = 0
  const answeredIn: number[] = []
  const attempt = (i: number, sentAt = performance.now()) =>
    sendPost(plan, i, sent).then(
      () => {
        lastAnswer = performance.now()
        answeredIn.push(lastAnswer - sentAt)
      },
      (error: Error) => {
        postErrors++
        firstPostError ??= error.message
        lastAnswer = performance.now()
      },
    )

  agent.destroy()
  agent = new Agent({ keepAlive: true, maxSockets: 64 })
  closedDuringRun = 0
  collecting = collector
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const deadline = started + plan.deadlineMs

  if (plan.rate === null) {
    // closed loop: `concurrency` posters, each sending the next post as soon as its last one is answered
    let next = 0
    await Promise.all(
      Array.from({ length: plan.concurrency }, async () => {
        while (next < plan.posts && performance.now() < deadline) await attempt(next++)
      }),
    )
  } else {
    // open loop on a schedule: post i is due at started + i / rate; a late tick sends all that are due
    const interval = 1000 / plan.rate
    const pending: Promise<void>[] = []
    let i = 0
    while (i < plan.posts && performance.now() < deadline) {
      while (i < plan.posts && started + i * interval <= performance.now()) pending.push(attempt(i++))
      if (i < plan.posts) await sleep(Math.max(0, started + i * interval - performance.now()))
    }
    await Promise.all(pending)
  }
  const postsDone = performance.now()

  // frames still in flight: done when every socket has every incident, or
  // nothing arrived for `quietMs` (what is missing by then is lost)
  const expected = sent.size * open
  for (;;) {
    const now = performance.now()
    // the cheap count first: the exact one walks every frame, millions of them
    if (collector.count >= expected && countReceived(collector, sent, open).received >= expected) break
    if (now - Math.max(postsDone, collector.lastAt) > plan.quietMs || now > deadline) break
    await sleep(Math.min(250, plan.quietMs / 4))
  }
  collecting = null
  const usage = process.cpuUsage(cpu)
  const loop = performance.eventLoopUtilization(elu)

  const { received, duplicates } = countReceived(collector, sent, open)
  const latencies = new Float64Array(collector.count)
  let k = 0
  for (let j = 0; j < collector.count; j++) {
    const at = sent.get(collector.features[j]!)
    if (at !== undefined) latencies[k++] = collector.times[j]! - at
  }
  const samples = latencies.subarray(0, k).sort()
  const firstSent = Math.min(...sent.values())
  return {
    type: 'result',
    posts: sent.size,
    postErrors,
    firstPostError,
    postSeconds: (lastAnswer - started) / 1000,
    postLatencyMs: { p50: rank(Float64Array.from(answeredIn).sort(), 50), p99: rank(Float64Array.from(answeredIn).sort(), 99) },
    sockets: open,
    expected,
    received,
    duplicates,
    wallSeconds: (collector.lastAt - firstSent) / 1000,
    latencyMs: { p50: rank(samples, 50), p99: rank(samples, 99), max: samples.length ? samples[samples.length - 1]! : NaN },
    longestGapMs: collector.longestGap,
    clientEventLoopUtilization: loop.utilization,
    clientCpuSeconds: (usage.user + usage.system) / 1e6,
    closedDuringRun,
    frameBytes: collector.frameBytes,
  }
}

/** Distinct frames of this run's incidents: at most one per socket per incident (delivery is at-least-once). */
function countReceived(collector: Collector, sent: Map<number, number>, sockets: number): { received: number; duplicates: number } {
  const perFeature = new Map<number, number>()
  for (let j = 0; j < collector.count; j++) {
    const feature = collector.features[j]!
    if (sent.has(feature)) perFeature.set(feature, (perFeature.get(feature) ?? 0) + 1)
  }
  let received = 0
  let duplicates = 0
  for (const count of perFeature.values()) {
    received += Math.min(count, sockets)
    duplicates += Math.max(0, count - sockets)
  }
  return { received, duplicates }
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
        agent.destroy()
        setImmediate(() => process.exit(0))
        return undefined
    }
  }
  handle().then(
    (result) => result && report(result),
    (error: Error) => report({ type: 'error', message: error.stack ?? error.message }),
  )
})
