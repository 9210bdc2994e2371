import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { parentPort, workerData } from 'node:worker_threads'
import { DESCRIPTION, locationOf, peerFrame, type SubjectKind } from './protocol.ts'

// The poster of one open-loop point: a worker thread of the swarm, so the
// schedule is kept by a thread of its own, not by the event loop that also
// reads every socket's frames (a turn of that loop reading thousands of
// sockets would otherwise send a post late, and its frames' latency, taken
// from the due time, would be the swarm's doing). Both threads tell time as
// performance.timeOrigin + performance.now(): one clock for the process.

export interface PosterData {
  kind: SubjectKind
  baseUrl: string
  postKey?: string
  idBase: number
  rate: number
  posts: number
}

/** One post, answered or failed: its feature number (null if it failed), how late it was sent and how long the answer took. */
export type PosterMessage =
  | { type: 'post'; i: number; feature: number | null; error?: string; lagMs: number; answerMs: number }
  | { type: 'ready' }
  | { type: 'abandoned' }

/** start: post 0 is due at `startAt` on the shared clock; abandon: give up on what is still unanswered */
export type PosterCommand = { cmd: 'start'; startAt: number } | { cmd: 'abandon' }

export const clock = () => performance.timeOrigin + performance.now()

const data = workerData as PosterData
const port = parentPort!
let agent = new Agent({ keepAlive: true, maxSockets: 64 })
let abandoned = false

function post(path: string, body: string, headers: Record<string, string>, retried = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, data.baseUrl)
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

/**
 * Sends post `i`; resolves with the feature number its frames carry. Peers
 * are told the number (idBase + i); ours numbers the incident itself and says
 * which in its answer (its frames may well arrive before that answer, so
 * frames are matched to posts after the run, from the recorded times).
 */
async function sendPost(i: number): Promise<number> {
  if (data.kind === 'ours') {
    const body = JSON.stringify({ name: `bench ${i}`, description: DESCRIPTION, severity: 'high', location: locationOf(i) })
    const res = await post('/api/incidents', body, { authorization: `Bearer ${data.postKey}` })
    if (res.status !== 201) throw new Error(`POST /api/incidents: ${res.status} ${res.body.slice(0, 200)}`)
    const id = (JSON.parse(res.body) as { id: string }).id
    return Number(id.slice('incident:'.length))
  }
  const n = data.idBase + i
  const res = await post('/broadcast', peerFrame(n, i), {})
  if (res.status !== 204) throw new Error(`POST /broadcast: ${res.status} ${res.body.slice(0, 200)}`)
  return n
}

function attempt(i: number, due: number): void {
  const sentAt = clock()
  sendPost(i).then(
    (feature) => port.postMessage({ type: 'post', i, feature, lagMs: sentAt - due, answerMs: clock() - sentAt } satisfies PosterMessage),
    (error: Error) => {
      if (!abandoned) port.postMessage({ type: 'post', i, feature: null, error: error.message, lagMs: sentAt - due, answerMs: clock() - sentAt } satisfies PosterMessage)
    },
  )
}

port.on('message', (command: PosterCommand) => {
  if (command.cmd === 'start') {
    startAt = command.startAt
    tick()
  } else if (command.cmd === 'abandon') {
    abandoned = true
    agent.destroy() // requests still queued or in flight are given up
    agent = new Agent({ keepAlive: false })
    port.postMessage({ type: 'abandoned' } satisfies PosterMessage)
  }
})

// open loop: post i is sent when due whether or not earlier ones were answered; a late tick sends all that are due
const interval = 1000 / data.rate
let startAt = 0
let i = 0
function tick() {
  const now = clock()
  while (i < data.posts && startAt + i * interval <= now) attempt(i, startAt + i * interval), i++
  if (i < data.posts && !abandoned) setTimeout(tick, Math.max(0, startAt + i * interval - clock()))
}
// loaded (and compiled): the main thread sets the schedule from now on
port.postMessage({ type: 'ready' } satisfies PosterMessage)
