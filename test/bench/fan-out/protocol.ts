// What the bench process and its client swarm (swarm.ts, a separate process)
// say to each other over the fork IPC channel, and the payload every subject
// broadcasts. Shared so both sides agree at compile time.

/** Which server the swarm talks to; decides the socket handshake and what a POST carries. */
export type SubjectKind = 'ours' | 'bare' | 'socketio'

export interface SwarmConfig {
  kind: SubjectKind
  /** http://127.0.0.1:<port> of the server under test */
  baseUrl: string
  /** the viewer's session key (ours only): sent as `Authorization: Bearer` on the upgrade */
  sessionKey?: string
  /** the swarm exits by itself after this long, whatever happens to the bench process */
  maxLifetimeMs: number
}

export interface PostPlan {
  /** posts per second, open loop (sent on schedule whether or not earlier ones answered); null: as fast as possible */
  rate: number | null
  posts: number
  /** POSTs in flight at once when `rate` is null (and the agent's socket cap otherwise) */
  concurrency: number
  /** the operator's session key (ours only) */
  postKey?: string
  /** first feature number the peers' synthetic incidents use; ours numbers its own */
  idBase: number
  /** how long to wait after the last POST answered for frames still on their way */
  quietMs: number
  /** hard stop for the whole run */
  deadlineMs: number
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
  posts: number
  postErrors: number
  firstPostError?: string
  /** first POST sent to last POST answered */
  postSeconds: number
  /** how long the server took to answer a POST */
  postLatencyMs: { p50: number; p99: number }
  sockets: number
  expected: number
  /** distinct frames: at most one per socket per incident */
  received: number
  duplicates: number
  /** first POST sent to last frame received */
  wallSeconds: number
  latencyMs: { p50: number; p99: number; max: number }
  /** the longest time no client received anything, between the run's first and last frame: a server's event loop stalls show here */
  longestGapMs: number
  /** the swarm's own load: if it is near 1 the clients, not the server, set the pace */
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
