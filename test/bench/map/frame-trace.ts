import type { CDPSession, Page } from '@playwright/test'

// Frames the page really presented, from a Chromium trace, instead of
// requestAnimationFrame callbacks (a callback is a frame the page could
// have shown, not one that reached the screen).
//
// What is counted: cc's PipelineReporter, the record the compositor keeps of
// every frame it begins (the same source DevTools' Frames track and
// Chromium's own smoothness metrics read). Each ends when the frame was
// presented or given up, and says which (`state`). A frame counts as
// presented when a reporter for its `frame_sequence` in the page's renderer
// ends in STATE_PRESENTED_ALL or STATE_PRESENTED_PARTIAL (partial: the
// compositor showed it without the main thread's update for it, as it does
// when the main thread is late); its time is the end of that reporter, the
// presentation. Headless chromium with --disable-gpu presents too: viz
// draws each frame with its software renderer and swaps it to an offscreen
// surface, and that swap is the presentation these events report.
// Reporters of the browser's own UI compositor (another process) are left
// out, and so are FORKED duplicates of the same sequence.

const CATEGORIES = ['disabled-by-default-devtools.timeline.frame', 'blink.user_timing']
const SYNC_MARK = 'map-bench-clock'

interface TraceEvent {
  name: string
  cat: string
  ph: string
  pid: number
  ts: number
  id2?: { local?: string; global?: string }
  id?: string
  args?: { frame_reporter?: { state?: string; frame_sequence?: number; frame_type?: string } }
}

export interface FrameTrace {
  /** presentation times of the frames the page presented, in the page's clock (performance.now(), ms), ascending */
  presented: number[]
  /** the same frames' begin (the frame clock's tick they started from), page clock */
  began: number[]
  /** frames the compositor began with something to show and dropped (never presented) */
  dropped: number
  /**
   * the renderer compositor's DrawFrame events (page clock), the older
   * record DevTools drew its frames from: a cross-check of `presented`, not
   * a measure (it marks a frame drawn and handed on, not shown)
   */
  drawn: number[]
}

export interface Tracer {
  stop(): Promise<FrameTrace>
}

/** Starts tracing the page's frames; `stop` ends it and returns what was presented. */
export async function traceFrames(page: Page): Promise<Tracer> {
  const cdp: CDPSession = await page.context().newCDPSession(page)
  const events: TraceEvent[] = []
  cdp.on('Tracing.dataCollected', ({ value }) => {
    for (const e of value as unknown as TraceEvent[]) if (e.name === 'PipelineReporter' || e.name === 'DrawFrame' || e.name === SYNC_MARK) events.push(e)
  })
  await cdp.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: CATEGORIES, recordMode: 'recordContinuously' } })
  return {
    async stop() {
      // a user-timing mark is in the trace's clock and the page's at once: it ties the two together
      const markAt = await page.evaluate((name) => performance.mark(name).startTime, SYNC_MARK)
      const complete = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()))
      await cdp.send('Tracing.end')
      await complete
      await cdp.detach()
      return presentedFrames(events, markAt)
    },
  }
}

export function presentedFrames(events: TraceEvent[], markAt: number): FrameTrace {
  const mark = events.find((e) => e.name === SYNC_MARK)
  if (!mark) throw new Error('the trace holds no clock mark: was the page traced?')
  const toPage = (ts: number) => ts / 1000 - mark.ts / 1000 + markAt
  const begun = new Map<string, { sequence: number; state: string; forked: boolean; ts: number }>()
  const bySequence = new Map<number, { presented: number | null; began: number; dropped: boolean }>()
  for (const e of events) {
    if (e.name !== 'PipelineReporter' || e.pid !== mark.pid) continue
    const key = e.id2?.local ?? e.id2?.global ?? e.id ?? ''
    if (e.ph === 'b') {
      const r = e.args?.frame_reporter
      if (r?.frame_sequence === undefined) continue
      begun.set(key, { sequence: r.frame_sequence, state: r.state ?? '', forked: r.frame_type === 'FORKED', ts: e.ts })
    } else if (e.ph === 'e') {
      const b = begun.get(key)
      if (!b || b.forked) continue
      const frame = bySequence.get(b.sequence) ?? { presented: null, began: toPage(b.ts), dropped: false }
      if (b.state.startsWith('STATE_PRESENTED')) frame.presented = Math.min(frame.presented ?? Infinity, toPage(e.ts))
      // (a frame with nothing new to show ends STATE_NO_UPDATE_DESIRED: not a frame lost)
      if (b.state === 'STATE_DROPPED') frame.dropped = true
      bySequence.set(b.sequence, frame)
    }
  }
  const frames = [...bySequence.values()].filter((f) => f.presented !== null).sort((a, b) => a.presented! - b.presented!)
  return {
    drawn: events.filter((e) => e.name === 'DrawFrame' && e.pid === mark.pid).map((e) => toPage(e.ts)).sort((a, b) => a - b),
    presented: frames.map((f) => f.presented!),
    began: frames.map((f) => f.began),
    dropped: [...bySequence.values()].filter((f) => f.dropped && f.presented === null).length,
  }
}

export interface Window {
  /** page clock, ms */
  start: number
  end: number
}

export interface FrameStats {
  /** presented frames per second of the windows */
  fps: number
  /** 95th percentile of the time between presented frames, ms */
  p95FrameMs: number
  /** times the screen showed the same frame for more than LONG_FRAME_MS */
  longFrames: number
  seconds: number
}

/** More than three refreshes at 60 Hz: a stall anyone sees while the hand moves. */
export const LONG_FRAME_MS = 50

/**
 * Frame rate and stalls within the windows (the drags: a map that is not
 * moving presents nothing new, so pauses are not frames missed). A window's
 * gaps run from its start to its first frame, between its frames, and from
 * its last frame to its end.
 */
export function frameStats(presented: number[], windows: Window[]): FrameStats {
  const gaps: number[] = []
  let frames = 0
  let total = 0
  for (const w of windows) {
    total += w.end - w.start
    let last = w.start
    for (const t of presented) {
      if (t < w.start) continue
      if (t > w.end) break
      frames++
      gaps.push(t - last)
      last = t
    }
    gaps.push(w.end - last)
  }
  gaps.sort((a, b) => a - b)
  return {
    fps: total > 0 ? frames / (total / 1000) : NaN,
    p95FrameMs: gaps[Math.min(gaps.length - 1, Math.ceil(gaps.length * 0.95) - 1)] ?? NaN,
    longFrames: gaps.filter((g) => g > LONG_FRAME_MS).length,
    seconds: total / 1000,
  }
}

/** One refresh of the 60 Hz frame clock headless chromium runs on. */
const REFRESH_MS = 1000 / 60

/**
 * When something the page changed at `at` (page clock) reached the screen:
 * the first frame presented after it that began no more than one refresh
 * before it (null: none in the trace). Not simply the first frame begun
 * after it: a frame asked for by an idle page starts with the clock's last
 * tick, which may be just before the change it carries. So a frame begun in
 * that last refresh may count even if it did not carry the change: an error
 * of at most a frame or two.
 */
export function presentedAfter(trace: FrameTrace, at: number): number | null {
  let lo = 0
  let hi = trace.presented.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (trace.presented[mid]! <= at) lo = mid + 1
    else hi = mid
  }
  while (lo < trace.presented.length && trace.began[lo]! < at - REFRESH_MS) lo++
  return lo < trace.presented.length ? trace.presented[lo]! : null
}
