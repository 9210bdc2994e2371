// What the bench process and its client swarm (swarm.ts, a separate process)
// say to each other over the fork IPC channel, and the payload every subject
// broadcasts. Shared so both sides agree at compile time.

/**
 * Which server the swarm talks to; decides the socket handshake and what a POST carries.
 * 'bare' is the naive bare `ws` server (one write per notification per socket),
 * 'batched' the floor built with ours' technique, 'bun' Bun's uWebSockets publish,
 * 'socketio' Socket.IO with the Redis (pub/sub) adapter, 'socketio-streams' with
 * the Redis streams adapter.
 */
export type SubjectKind = 'ours' | 'bare' | 'batched' | 'bun' | 'socketio' | 'socketio-streams'

/** How the swarm speaks to a kind of server: ours' authenticated /ws, Engine.IO v4, or a plain WebSocket on `/`. */
export const wireOf = (kind: SubjectKind): 'ours' | 'socketio' | 'plain' => (kind === 'ours' ? 'ours' : kind.startsWith('socketio') ? 'socketio' : 'plain')

export interface SwarmConfig {
  kind: SubjectKind
  /** http://127.0.0.1:<port> of the server under test */
  baseUrl: string
  /** the viewer's session key (ours only): sent as `Authorization: Bearer` on the upgrade */
  sessionKey?: string
  /** the swarm exits by itself after this long, whatever happens to the bench process */
  maxLifetimeMs: number
}

/** One open-loop point: posts on a fixed schedule, a warm-up, then the measured window. */
export interface PostPlan {
  /** posts per second; post i is due at start + i / rate whether or not earlier ones were answered */
  rate: number
  /** posted on the same schedule before the measured window; their frames are not measured */
  warmUpSeconds: number
  /** the measured window */
  seconds: number
  /** the operator's session key (ours only) */
  postKey?: string
  /** first feature number the peers' synthetic incidents use; ours numbers its own */
  idBase: number
  /** once every post is answered: a frame later than this after the one before it is lost */
  quietMs: number
  /** after the last post's due time, stop waiting anyway (an overloaded subject may need minutes to drain) */
  cutOffMs: number
  /** before starting: wait until no frame has arrived for this long (the previous point's backlog has drained) */
  settleMs: number
  /** ...but no longer than this */
  settleLimitMs: number
}

export type SwarmCommand =
  | { cmd: 'connect'; total: number; concurrency: number }
  | { cmd: 'run'; plan: PostPlan }
  | { cmd: 'close' }

export interface ConnectReport {
  type: 'connected'
  open: number
  failed: number
  /** the first failure, for the error message */
  error?: string
  ms: number
}

export interface RunReport {
  type: 'result'
  /** posts due in the measured window */
  measuredPosts: number
  postErrors: number
  firstPostError?: string
  /** posts not answered by the cut-off (their requests were abandoned) */
  abandoned: number
  /** how long the server took to answer a POST, from its actual send */
  postLatencyMs: { p50: number; p99: number }
  sockets: number
  /** frames of the measured posts: measuredPosts × sockets */
  expected: number
  /** distinct frames of the measured posts received: at most one per socket per incident */
  received: number
  duplicates: number
  /**
   * how the wait for the measured frames ended: 'complete' (all arrived),
   * 'quiet' (every post answered and nothing arrived for quietMs: what is
   * missing is lost), 'cut-off' (still going at the cut-off: what is missing
   * may only be late)
   */
  ending: 'complete' | 'quiet' | 'cut-off'
  /** frames of any post received within the measured window, per second of it */
  deliveredPerSecond: number
  /** every frame received during the run, warm-up and drain included (the denominator of CPU per frame) */
  framesTotal: number
  /**
   * from each post's SCHEDULED send time to each socket's receipt, over the
   * measured posts; a frame missing at the end counts as arriving then (so
   * after a cut-off these are lower bounds)
   */
  latencyMs: { p50: number; p99: number; p999: number; max: number }
  /** how late the poster thread itself sent the measured posts, after their due time (not the server's answer) */
  posterLagMs: { p99: number; max: number }
  /** how long the swarm waited for the previous point's frames to stop; settled false: they never did within the limit */
  settle: { ms: number; settled: boolean }
  /** the longest time no client received anything, within the measured window: a server's event loop stall shows here */
  longestGapMs: number
  /** the swarm's own load over the run: near 1, the clients, not the server, set the pace */
  clientEventLoopUtilization: number
  clientCpuSeconds: number
  /** sockets that closed while the run went on (a server dropping slow clients would show here) */
  closedDuringRun: number
  frameBytes: number
}

export type SwarmReport = ConnectReport | RunReport | { type: 'error'; message: string }

// ---- the payload ----

/** Long enough that frames are the size of a real report (ours carries the same text). */
export const DESCRIPTION =
  'Water main burst at the junction; two lanes closed northbound, traffic diverted via the ring road. Crews on site, estimated repair four hours.'

/** Where incident `i` of a run is reported: spread out, none in any area (no alert frames). */
export function locationOf(i: number): { lon: number; lat: number } {
  return { lon: ((i * 7) % 340) - 170 + 0.123456, lat: ((i * 13) % 160) - 80 + 0.654321 }
}

/**
 * The frame the peers broadcast: the same shape and (within a few bytes) the
 * same size as our server's post_save frame for incident `n`, so every subject
 * moves the same bytes.
 */
export function peerFrame(n: number, i: number): string {
  const now = new Date().toISOString()
  const { lon, lat } = locationOf(i)
  return JSON.stringify({
    id: `${Date.now()}-0`,
    event: n,
    type: 'post_save',
    created: true,
    feature: {
      type: 'Feature',
      id: `incident:${n}`,
      geometry: { type: 'Point', coordinates: [lon, lat] },
      properties: {
        id: n,
        kind: 'incident',
        name: `bench ${i}`,
        description: DESCRIPTION,
        severity: 'high',
        closed: false,
        created: now,
        updated: now,
        reporter: 'poster',
        version: 1,
        url: `/api/incidents/${n}`,
      },
    },
  })
}

/** Every frame names its incident exactly once as `"incident:<n>"` (the feature id). */
export const FEATURE_MARK = '"incident:'
