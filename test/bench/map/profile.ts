import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { ROOT } from '../../helpers/server-process.ts'

// Where the page's main thread spends its time, from Chrome's sampling
// profiler over CDP. Only for finding out why a target is missed: the
// profiler itself costs some frames, so profiled rounds are not for numbers.

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[]
  samples: number[]
  timeDeltas: number[]
}

export interface HotSpot {
  name: string
  /** file:line:column, plus the start of the minified source there when the name alone says little */
  where: string
  selfMs: number
  /** this function and everything it called */
  totalMs: number
}

/** Starts sampling the page's JavaScript; the returned function stops and saves the profile (loadable in Chrome DevTools). */
export async function startProfiling(page: Page): Promise<(file: string) => Promise<ProfileSummary>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
  await cdp.send('Profiler.start')
  return async (file) => {
    const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile }
    await cdp.detach()
    writeFileSync(file, JSON.stringify(profile))
    return summarize(profile)
  }
}

/** The bundle is minified: show where in it a function is, and its first characters, so it can be found in web/src. */
function describe(frame: CallFrame): string {
  if (!frame.url) return ''
  const path = new URL(frame.url, 'http://x').pathname
  const where = `${path}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
  const file = join(ROOT, 'web/dist', path)
  if (!path.startsWith('/assets/') || !existsSync(file)) return where
  const line = readFileSync(file, 'utf8').split('\n')[frame.lineNumber] ?? ''
  return `${where} ${JSON.stringify(line.slice(frame.columnNumber, frame.columnNumber + 70))}`
}

export interface ProfileSummary {
  /** largest self time first: where the time goes */
  bySelf: HotSpot[]
  /** largest total first: which callers (app code) it goes through */
  byTotal: HotSpot[]
}

/** Self and total time per function, by name and place. */
export function summarize(profile: CpuProfile, top = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const key = (f: CallFrame) => `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const frames = new Map<string, CallFrame>()
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    const leaf = byId.get(id)!.callFrame
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + ms)
    // each function on the stack once, however deep the recursion
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame
      const k = key(frame)
      frames.set(k, frame)
      if (seen.has(k)) continue
      seen.add(k)
      total.set(k, (total.get(k) ?? 0) + ms)
    }
  })
  const spot = (k: string): HotSpot => {
    const frame = frames.get(k)!
    return { name: frame.functionName || '(anonymous)', where: describe(frame), selfMs: self.get(k) ?? 0, totalMs: total.get(k) ?? 0 }
  }
  const largest = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k]) => spot(k))
  return { bySelf: largest(self), byTotal: largest(total) }
}
