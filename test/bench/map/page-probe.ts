import { CLUSTER_MAX_ZOOM } from '../../../web/src/map/cluster-protocol.ts'

// Everything here runs inside the page: Playwright sends these functions as
// source text. tsx (esbuild with keepNames) wraps inner named functions in
// `__name(...)` calls that only exist in Node, so the init script defines a
// no-op `__name` in the page first (see probeScript).

/** A live incident the page's socket brought, and when the map first drew it (page clock, ms). */
export interface LiveSighting {
  id: number
  name: string
  /** the socket's message event ran */
  arrivedAt: number
  /** the map drew from data that holds it (null: not yet) */
  shownAt: number | null
  /** the dashboard's steps before that: an index with it was asked of a cluster worker, and the worker said it was built (for where staleness comes from) */
  indexingAt?: number
  indexedAt?: number
}

/** What the probe records, in ms since navigation started (performance.now()). */
export interface Probe {
  /** body[data-ready=true]: the first load is done */
  readyAt: number | null
  /** the first moment the page was ready and showed a cluster or an incident pin */
  markersAt: number | null
  /** the end of the frame after `markersAt`: the markers are on screen */
  paintedAt: number | null
  /** each index the map drew from, as it took over: how many incidents it holds, whether it is full (not a preview), and when the map first drew from it */
  indexes: { points: number; full: boolean; at: number }[]
  /** notifications (post_save, post_delete, alert) the page's socket has received: not ready or reset frames */
  liveFrames: number
  /** incidents saved while the page was open (post_save), in the order they came */
  live: LiveSighting[]
  /** for pages that draw live changes themselves (the markercluster baseline): these incidents are drawn from now on */
  shown(ids: number[]): void
  /** for pages that build their index themselves: the full index of `points` incidents is drawn from now on */
  indexed(points: number): void
}

interface BenchWindow {
  __mapBench__: Probe
  __map__?: { once(type: string, fn: () => void): void; on(type: string, fn: () => void): void }
}

/**
 * Installed before any page script runs (an init script), so nothing it
 * watches for can happen before it looks. It sees the page through what any
 * page has (its WebSocket, its Web Workers, its DOM) and the dashboard's own
 * hooks (`window.__map__`, the map's `incidents:rendered`); nothing in the
 * dashboard is changed for it.
 */
function installProbe(fullZoom: number): void {
  const unshown = new Map<number, LiveSighting>()
  const markShown = (ids: Iterable<number>, at: number) => {
    for (const id of ids) {
      const sighting = unshown.get(id)
      if (!sighting) continue
      sighting.shownAt = at
      unshown.delete(id)
    }
  }
  const probe: Probe = {
    readyAt: null,
    markersAt: null,
    paintedAt: null,
    indexes: [],
    liveFrames: 0,
    live: [],
    shown: (ids) => markShown(ids, performance.now()),
    indexed: (points) => void probe.indexes.push({ points, full: true, at: performance.now() }),
  }
  const w = window as unknown as BenchWindow
  w.__mapBench__ = probe

  // One more listener on every socket, added before the page's own: the
  // moment each saved incident reached the page.
  const counted = new Set(['post_save', 'post_delete', 'alert'])
  const NativeSocket = window.WebSocket
  window.WebSocket = class extends NativeSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      this.addEventListener('message', (message) => {
        const at = performance.now()
        const frame = JSON.parse(String(message.data)) as { type?: string; feature?: { properties?: { id?: number; kind?: string; name?: string } } }
        if (!counted.has(frame.type ?? '')) return
        probe.liveFrames++
        const p = frame.feature?.properties
        if (frame.type !== 'post_save' || p?.kind !== 'incident' || typeof p.id !== 'number' || unshown.has(p.id)) return
        const sighting: LiveSighting = { id: p.id, name: p.name ?? '', arrivedAt: at, shownAt: null }
        probe.live.push(sighting)
        unshown.set(p.id, sighting)
      })
    }
  }

  // The dashboard clusters in Web Workers (web/src/map/cluster-index.ts):
  // each `load` it posts carries the ids of the incidents it adds to the
  // index (all of them for a new index; the changed ones for a live change,
  // a `load` with `removed`), each `loaded` reply says the worker now
  // answers with them, and the first
  // `incidents:rendered` after it is the map drawn from it (the layer's
  // render on `loaded` drops any older view). So an incident is on the map
  // from that render on, whether it is in view or would be at the next pan.
  let waitingForRender: { ids: number[]; full: boolean; points: number }[] = []
  const sightings = (ids: number[]) => ids.map((id) => unshown.get(id)).filter((s) => s !== undefined)
  let listening = false
  const onRendered = () => {
    const at = performance.now()
    for (const batch of waitingForRender) {
      markShown(batch.ids, at)
      probe.indexes.push({ points: batch.points, full: batch.full, at })
    }
    waitingForRender = []
  }
  const NativeWorker = window.Worker
  window.Worker = class extends NativeWorker {
    readonly #builds = new Map<number, { ids: number[]; full: boolean }>()
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options)
      this.addEventListener('message', (event: MessageEvent) => {
        const reply = event.data as { type?: string; build?: number; points?: number }
        if (reply.type !== 'loaded' || reply.build === undefined) return
        const batch = this.#builds.get(reply.build)
        this.#builds.delete(reply.build)
        if (!batch) return
        const at = performance.now()
        for (const s of sightings(batch.ids)) s.indexedAt ??= at
        if (!listening && w.__map__) {
          w.__map__.on('incidents:rendered', onRendered)
          listening = true
        }
        waitingForRender.push({ ...batch, points: reply.points ?? 0 })
      })
    }
    override postMessage(message: unknown, transfer?: Transferable[] | StructuredSerializeOptions): void {
      const load = message as { type?: string; build?: number; maxZoom?: number; ids?: Int32Array }
      if (load?.type === 'load' && load.ids && load.build !== undefined) {
        // which of the incidents not yet shown this index holds (read before the ids are handed over)
        const ids: number[] = []
        if (unshown.size) for (const id of load.ids) if (unshown.has(id)) ids.push(id)
        const at = performance.now()
        for (const s of sightings(ids)) s.indexingAt ??= at
        this.#builds.set(load.build, { ids, full: load.maxZoom === fullZoom })
      }
      super.postMessage(message, transfer as Transferable[])
    }
  }

  // A MutationObserver sees the moment the DOM changes, where polling from
  // Playwright would add up to its polling interval to the measurement.
  const observer = new MutationObserver(() => {
    if (probe.readyAt === null && document.body?.dataset.ready === 'true') probe.readyAt = performance.now()
    // our clusters are drawn on a canvas that says how many it holds, markercluster's are DOM; single incidents are pins in both
    if (probe.readyAt !== null && probe.markersAt === null && document.querySelector('.cluster-canvas:not([data-clusters="0"]), .marker-cluster, .incident-pin')) {
      probe.markersAt = performance.now()
      observer.disconnect()
      // rAF runs before the frame is painted; a task queued from it runs after
      requestAnimationFrame(() => setTimeout(() => (probe.paintedAt = performance.now()), 0))
    }
  })
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready', 'data-clusters'] })
}

/** The init script: the `__name` stand-in, then the probe. */
export const probeScript = `globalThis.__name ??= (fn) => fn;\n(${installProbe.toString()})(${CLUSTER_MAX_ZOOM});`

/** The probe's record, read back. */
export function readProbe(): Omit<Probe, 'shown' | 'indexed'> {
  const { shown: _shown, indexed: _indexed, ...data } = (window as unknown as BenchWindow).__mapBench__
  return data
}

/** Network timing of the incident pages (GET /api/incidents…), read after the first render. */
export function loadTimings(): {
  /** the first incident page was asked for */
  fetchStartedAt: number
  /** the last one was received */
  fetchedAt: number
  pages: number
  /** as sent (compressed, if it was) */
  bytes: number
} {
  const pages = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/incidents')) as PerformanceResourceTiming[]
  return {
    fetchStartedAt: Math.min(...pages.map((p) => p.startTime)),
    fetchedAt: Math.max(0, ...pages.map((p) => p.responseEnd)),
    pages: pages.length,
    bytes: pages.reduce((sum, p) => sum + p.encodedBodySize, 0),
  }
}
