import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RebuildPacer, type RebuildTiming } from '../../../../web/src/map/rebuild-pacer.ts'

// When live changes are folded into the incident layer's cluster index by a
// rebuild: paced on a still map, held while the map moves, and never held for
// good. On the fake clock, with a timing of the tests' own (the layer's own is
// REBUILD_TIMING), so each case says exactly when a rebuild happens.

const TIMING: RebuildTiming = { everyMs: 1000, stillMs: 300, whileMovingMs: 5000 }
const { everyMs, stillMs, whileMovingMs } = TIMING

describe('RebuildPacer', () => {
  let rebuilds: number[]
  let pacer: RebuildPacer
  const advance = (ms: number) => vi.advanceTimersByTime(ms)
  const now = () => Date.now()

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
    rebuilds = []
    // as the incident layer does: its rebuild tells the pacer it happened
    pacer = new RebuildPacer(() => {
      rebuilds.push(now())
      pacer.rebuilt()
    }, TIMING, now)
  })
  afterEach(() => vi.useRealTimers())

  it('on a still map, rebuilds for a change at once, then at most once a second however many changes come', () => {
    pacer.request()
    advance(0)
    expect(rebuilds).toEqual([0])
    // a change every 10 ms for 3 s
    for (let t = 0; t < 3000; t += 10) {
      pacer.request()
      advance(10)
    }
    expect(rebuilds).toEqual([0, everyMs, 2 * everyMs, 3 * everyMs])
  })

  it('holds a change while the map moves and rebuilds once it has been still for a moment', () => {
    pacer.request()
    advance(0)
    advance(2000)
    pacer.moveStarted()
    pacer.request()
    advance(1500)
    expect(rebuilds).toEqual([0])
    pacer.moveEnded()
    advance(stillMs - 1)
    expect(rebuilds).toEqual([0])
    advance(1)
    expect(rebuilds).toEqual([0, 2000 + 1500 + stillMs])
  })

  it('a pause shorter than the still time does not count: the next move keeps holding the change', () => {
    pacer.request()
    advance(0)
    pacer.moveStarted()
    pacer.request()
    for (let i = 0; i < 5; i++) {
      advance(400) // a pan…
      pacer.moveEnded()
      advance(stillMs / 2) // …a short pause…
      pacer.moveStarted() // …and the next pan
    }
    expect(rebuilds).toEqual([0])
  })

  it(`while the map never stops, still brings it up to date every ${whileMovingMs / 1000} s`, () => {
    pacer.request()
    advance(0)
    pacer.moveStarted()
    for (let t = 0; t < 3 * whileMovingMs; t += 10) {
      pacer.request()
      advance(10)
    }
    expect(rebuilds).toEqual([0, whileMovingMs, 2 * whileMovingMs, 3 * whileMovingMs])
  })

  it('a change that arrives mid-gesture after a quiet spell waits as well, up to the same bound counted from when it came', () => {
    pacer.rebuilt() // the first load
    advance(60_000) // nothing changes for a minute
    pacer.moveStarted()
    pacer.request()
    advance(whileMovingMs - 1)
    expect(rebuilds).toEqual([])
    advance(1)
    expect(rebuilds).toEqual([60_000 + whileMovingMs])
  })

  it('a held change is dropped once another rebuild (a filter change) has included it', () => {
    pacer.rebuilt() // the first load
    pacer.moveStarted()
    pacer.request()
    advance(100)
    // the layer rebuilt for its own reasons, reading the store as it is now
    pacer.rebuilt()
    pacer.moveEnded()
    advance(10 * whileMovingMs)
    expect(rebuilds).toEqual([])
  })

  it('nothing requested, nothing rebuilt, however the map moves', () => {
    for (let i = 0; i < 10; i++) {
      pacer.moveStarted()
      advance(500)
      pacer.moveEnded()
      advance(500)
    }
    expect(rebuilds).toEqual([])
  })
})
