import type { Map as LeafletMap } from 'leaflet'

// Everything here runs inside the page: Playwright sends these functions as
// source text. tsx (esbuild with keepNames) wraps inner named functions in
// `__name(...)` calls that only exist in Node, so the init script defines a
// no-op `__name` in the page first (see probeScript).

/** What the probe records, in ms since navigation started (performance.now()). */
export interface Probe {
  /** body[data-ready=true]: the dashboard's first load is done */
  readyAt: number | null
  /** the first moment the page was ready and showed a cluster or an incident pin */
  markersAt: number | null
  /** the end of the frame after `markersAt`: the markers are on screen */
  paintedAt: number | null
  /** notifications (post_save, post_delete, alert) the dashboard's socket has received: not ready or reset frames */
  liveFrames: number
}

interface BenchWindow {
  __mapBench__: Probe
  __map__: LeafletMap
}

/** Installed before any page script runs (an init script), so nothing it watches for can happen before it looks. */
function installProbe(): void {
  const probe: Probe = { readyAt: null, markersAt: null, paintedAt: null, liveFrames: 0 }
  ;(window as unknown as BenchWindow).__mapBench__ = probe

  // The dashboard listens with `onmessage`; one more listener on every socket
  // counts what actually reached the page, independent of what was posted.
  const counted = new Set(['post_save', 'post_delete', 'alert'])
  const Native = window.WebSocket
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      this.addEventListener('message', (message) => {
        if (counted.has((JSON.parse(String(message.data)) as { type?: string }).type ?? '')) probe.liveFrames++
      })
    }
  }

  // A MutationObserver sees the moment the DOM changes, where polling from
  // Playwright would add up to its polling interval to the measurement.
  const observer = new MutationObserver(() => {
    if (probe.readyAt === null && document.body?.dataset.ready === 'true') probe.readyAt = performance.now()
    // clusters are drawn on a canvas that says how many it holds; single incidents are pins
    if (probe.readyAt !== null && probe.markersAt === null && document.querySelector('.cluster-canvas:not([data-clusters="0"]), .incident-pin')) {
      probe.markersAt = performance.now()
      observer.disconnect()
      // rAF runs before the frame is painted; a task queued from it runs after
      requestAnimationFrame(() => setTimeout(() => (probe.paintedAt = performance.now()), 0))
    }
  })
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready', 'data-clusters'] })
}

/** The init script: the `__name` stand-in, then the probe. */
export const probeScript = `globalThis.__name ??= (fn) => fn;\n(${installProbe.toString()})();`

/** Network timing of the loader's pages (GET /api/incidents?…), read after the first render. */
export function loadTimings(): {
  readyAt: number | null
  markersAt: number | null
  paintedAt: number | null
  /** the first incident page was asked for */
  fetchStartedAt: number
  /** the last one was received */
  fetchedAt: number
  pages: number
  /** as sent (compressed, if it was) */
  bytes: number
  /** summed over the pages: request sent → first byte back (the server's query and serialization), and first → last byte */
  waitingMs: number
  receivingMs: number
} {
  const probe = (window as unknown as BenchWindow).__mapBench__
  const pages = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/incidents')) as PerformanceResourceTiming[]
  return {
    readyAt: probe.readyAt,
    markersAt: probe.markersAt,
    paintedAt: probe.paintedAt,
    fetchStartedAt: Math.min(...pages.map((p) => p.startTime)),
    fetchedAt: Math.max(0, ...pages.map((p) => p.responseEnd)),
    pages: pages.length,
    bytes: pages.reduce((sum, p) => sum + p.encodedBodySize, 0),
    waitingMs: pages.reduce((sum, p) => sum + (p.responseStart - p.requestStart), 0),
    receivingMs: pages.reduce((sum, p) => sum + (p.responseEnd - p.responseStart), 0),
  }
}

export interface FrameStats {
  frames: number
  /** the length of the window the frames were counted in */
  seconds: number
  fps: number
  p95FrameMs: number
  longestFrameMs: number
  /** main-thread time in tasks over 50 ms (Long Tasks API) */
  longTaskMs: number
  /** pans and zooms completed */
  moves: number
  /** markers (clusters + pins) on the map at the end, for a sense of what each re-render draws */
  markers: number
  liveFrames: number
}

/**
 * Pans and zooms the map the whole time for `durationMs`, counting
 * requestAnimationFrame callbacks: each one is a frame the page could show.
 * The path is fixed (a rectangle of 320×200 px pans, a zoom step every third
 * move, between zoom 4 and 7), so rounds and sizes see the same views. Each
 * move starts when the last one's `moveend` fired, which is also when the
 * incident layer asks its cluster worker for what is in view (and draws it
 * when the answer comes, a moment later): like a user who keeps dragging.
 */
export async function panAndCount(options: { durationMs: number }): Promise<FrameStats> {
  const w = window as unknown as BenchWindow
  const map = w.__map__
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  const moved = () => new Promise((resolve) => map.once('moveend', resolve))

  // the same start every time; then let the re-render it caused (and any pending rebuild) finish
  map.setView([25, 10], 5, { animate: false })
  await sleep(400)

  const pans: [number, number][] = [[320, 0], [0, 200], [-320, 0], [0, -200]]
  const zooms = [6, 7, 6, 5, 4, 5]
  const intervals: number[] = []
  const tasks: PerformanceEntry[] = []
  const longTasks = new PerformanceObserver((list) => void tasks.push(...list.getEntries()))
  longTasks.observe({ type: 'longtask' })
  const liveBefore = w.__mapBench__.liveFrames

  let running = true
  let last: number | null = null
  const frame = (t: number) => {
    if (last !== null) intervals.push(t - last)
    last = t
    if (running) requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)

  const started = performance.now()
  let moves = 0
  while (performance.now() - started < options.durationMs) {
    const done = moved()
    if (moves % 3 === 2) map.setZoom(zooms[Math.floor(moves / 3) % zooms.length]!)
    else map.panBy(pans[(moves - Math.floor(moves / 3)) % pans.length]!)
    // a move that cannot happen (already there) fires no moveend: don't wait forever for it
    await Promise.race([done, sleep(1000)])
    moves++
  }
  running = false
  const ended = performance.now()
  // let the task that was running when the window closed be reported, then count only what overlaps the window
  await sleep(0)
  let longTaskMs = 0
  for (const task of [...tasks, ...longTasks.takeRecords()]) longTaskMs += Math.max(0, Math.min(ended, task.startTime + task.duration) - Math.max(started, task.startTime))
  longTasks.disconnect()

  const sorted = [...intervals].sort((a, b) => a - b)
  const total = intervals.reduce((sum, t) => sum + t, 0)
  return {
    frames: intervals.length,
    seconds: (ended - started) / 1000,
    fps: intervals.length / (total / 1000),
    p95FrameMs: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? NaN,
    longestFrameMs: sorted[sorted.length - 1] ?? NaN,
    longTaskMs,
    moves,
    // clusters (drawn on the incident layer's canvas, which counts them) plus incident pins
    markers: Number(document.querySelector<HTMLElement>('.cluster-canvas')?.dataset.clusters ?? 0) + document.querySelectorAll('.incident-pin').length,
    liveFrames: w.__mapBench__.liveFrames - liveBefore,
  }
}

/**
 * What one re-render of the view costs: the map fires `moveend` at the start
 * view of panAndCount, as it does after every pan and zoom; the incident layer
 * asks its cluster worker for the view and fires `incidents:rendered` once the
 * markers are updated, and a forced layout adds the style and layout work it
 * caused. So this is the time from the end of a move to the markers being
 * there, the worker's round trip included. Median of `times`. Less sensitive
 * to a busy machine than fps (it counts no frames), so it shows what the
 * incident layer itself costs.
 */
export async function rerenderCost(options: { times: number }): Promise<{ ms: number; markers: number }> {
  const map = (window as unknown as BenchWindow).__map__
  map.setView([25, 10], 5, { animate: false })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const samples: number[] = []
  for (let i = 0; i < options.times; i++) {
    const t0 = performance.now()
    const rendered = new Promise((resolve) => map.once('incidents:rendered', resolve))
    map.fire('moveend')
    // (an empty map has no index, so nothing is rendered: don't wait for it)
    await Promise.race([rendered, new Promise((resolve) => setTimeout(resolve, 2000))])
    void document.body.offsetHeight
    samples.push(performance.now() - t0)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  samples.sort((a, b) => a - b)
  const clusters = Number(document.querySelector<HTMLElement>('.cluster-canvas')?.dataset.clusters ?? 0)
  return { ms: samples[Math.floor(samples.length / 2)]!, markers: clusters + document.querySelectorAll('.incident-pin').length }
}
