import { describe, expect, it } from 'vitest'
import { UsernameLimiter } from '../../../../server/auth/username-limiter.ts'

describe('UsernameLimiter', () => {
  function limiter(max: number, maxNames = 100) {
    let now = 1_000_000
    const clock = { advance: (ms: number) => (now += ms) }
    return { limiter: new UsernameLimiter(max, 60_000, maxNames, () => now), clock }
  }

  it('refuses past the limit until the window that began with the first attempt ends', () => {
    const { limiter: l, clock } = limiter(2)
    expect(l.begin('alice').allowed).toBe(true)
    clock.advance(10_000)
    expect(l.begin('alice').allowed).toBe(true)
    expect(l.begin('alice')).toEqual({ allowed: false, retryAfterMs: 50_000 })
    clock.advance(50_000)
    expect(l.begin('alice').allowed).toBe(true)
  })

  it('forgets the oldest names past its bound, keeping the newest', () => {
    const { limiter: l } = limiter(1, 3)
    for (const name of ['a', 'b', 'c', 'd']) l.begin(name)
    expect(l.begin('a').allowed).toBe(true)
    expect(l.begin('d').allowed).toBe(false)
  })

  it('keeps a locked name locked while a flood of new names pushes others out', () => {
    const { limiter: l } = limiter(3, 3)
    for (let i = 0; i < 3; i++) l.begin('admin')
    for (let i = 0; i < 50; i++) l.begin(`guess-${i}`)
    expect(l.begin('admin').allowed).toBe(false)
  })
})
