import type { Page } from '@playwright/test'

// What a person does with the map, as a fixed script: drags (some let go
// while still moving, so the map glides on), wheel zooms in and out, and
// pauses of every length. Drawn once from a seed, so every subject and every
// round meets exactly the same gestures, and played through the browser's
// own input (page.mouse: CDP input events, which the page sees as pointer,
// mouse and wheel events, as it would from a real mouse).

/** Positions are fractions of the map's box, so the script fits any layout. */
export type Gesture =
  | { kind: 'drag'; from: [number, number]; by: [number, number]; ms: number; flick: boolean }
  | { kind: 'wheel'; at: [number, number]; notches: number[] }
  | { kind: 'pause'; ms: number }

export interface GestureOptions {
  seed: number
  /** the script's length, gestures and pauses together */
  durationMs: number
  /** the map's zoom at the start; wheel zooms keep it within [minZoom, maxZoom] */
  startZoom: number
  minZoom: number
  maxZoom: number
}

/** Time between two wheel notches of one burst: more than Leaflet's debounce and its zoom animation, so each notch is one zoom level. */
const NOTCH_GAP_MS = 350
/** A mouse reports this often while it moves (125 Hz). */
const MOVE_EVERY_MS = 8

function generator(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => ((state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32)
}

export function gestureScript({ seed, durationMs, startZoom, minZoom, maxZoom }: GestureOptions): Gesture[] {
  const random = generator(seed)
  const between = (low: number, high: number) => low + random() * (high - low)
  const script: Gesture[] = []
  let zoom = startZoom
  let total = 0
  while (total < durationMs) {
    if (random() < 0.7) {
      const ms = Math.round(between(250, 1500))
      const distance = between(80, 450)
      const angle = between(0, 2 * Math.PI)
      // from near the middle, so the drag stays inside the map
      script.push({ kind: 'drag', from: [between(0.35, 0.65), between(0.35, 0.65)], by: [distance * Math.cos(angle), distance * Math.sin(angle)], ms, flick: random() < 0.3 })
      total += ms
    } else {
      const count = random() < 0.6 ? 1 : 2
      // in or out as the zoom allows; in when both do, half of the time
      const direction = zoom + count > maxZoom ? -1 : zoom - count < minZoom ? 1 : random() < 0.5 ? 1 : -1
      zoom += direction * count
      script.push({ kind: 'wheel', at: [between(0.3, 0.7), between(0.3, 0.7)], notches: Array(count).fill(direction) })
      total += count * NOTCH_GAP_MS
    }
    // mostly a breath between gestures, sometimes a look at the map
    const ms = Math.round(random() < 0.7 ? between(80, 400) : between(800, 3000))
    script.push({ kind: 'pause', ms })
    total += ms
  }
  return script
}

/** A stretch of the script in the page's clock (performance.now(), ms). */
export interface Played {
  kind: Gesture['kind']
  start: number
  end: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** The page's clock minus this process's, from one round trip (its error is half the round trip, a few ms). */
export async function pageClockOffset(page: Page): Promise<number> {
  const before = performance.now()
  const pageNow = await page.evaluate(() => performance.now())
  const after = performance.now()
  return pageNow - (before + after) / 2
}

/**
 * Plays the script on the map in `box` (the map's container, in CSS px).
 * Paced by the clock, not by the page: a drag moves the pointer to where
 * the hand would be at each moment, so a page that is slow to take the
 * events gets fewer of them, not a slower gesture. Returns each stretch in
 * the page's clock.
 */
export async function playGestures(page: Page, box: { x: number; y: number; width: number; height: number }, script: Gesture[]): Promise<Played[]> {
  const offset = await pageClockOffset(page)
  const at = ([fx, fy]: [number, number]): [number, number] => [box.x + fx * box.width, box.y + fy * box.height]
  const played: Played[] = []
  for (const gesture of script) {
    const start = performance.now()
    if (gesture.kind === 'pause') {
      await sleep(gesture.ms)
    } else if (gesture.kind === 'wheel') {
      await page.mouse.move(...at(gesture.at))
      for (const [i, direction] of gesture.notches.entries()) {
        // a notch up zooms in
        await page.mouse.wheel(0, -100 * direction)
        await sleep(start + (i + 1) * NOTCH_GAP_MS - performance.now())
      }
    } else {
      const [x0, y0] = at(gesture.from)
      await page.mouse.move(x0, y0)
      await page.mouse.down()
      const began = performance.now()
      for (;;) {
        const f = Math.min(1, (performance.now() - began) / gesture.ms)
        // a flick speeds up to the end and is let go moving (Leaflet's inertia carries the map on); a drag eases in and out
        const p = gesture.flick ? f * f : f < 0.5 ? 2 * f * f : 1 - 2 * (1 - f) ** 2
        await page.mouse.move(x0 + gesture.by[0] * p, y0 + gesture.by[1] * p)
        if (f >= 1) break
        await sleep(MOVE_EVERY_MS - ((performance.now() - began) % MOVE_EVERY_MS))
      }
      await page.mouse.up()
    }
    played.push({ kind: gesture.kind, start: start + offset, end: performance.now() + offset })
  }
  return played
}
