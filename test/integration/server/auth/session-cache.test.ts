import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionCache, type CachedSession } from '../../../../server/auth/session-cache.ts'
import { BACKENDS, bearer, startTestServer, type TestServer } from '../../../helpers/test-server.ts'
import { waitUntil } from '../../../helpers/wait.ts'

describe('the session cache', () => {
  const session = (sessionId: number, userId: number, expiresInMs = 3_600_000): CachedSession => ({
    sessionId,
    user: { id: userId },
    idleExpires: new Date(now + expiresInMs),
    absoluteExpires: new Date(now + 2 * expiresInMs),
  })
  let now = 1_000_000
  function cacheOf(sessions: Record<string, CachedSession | undefined>, ttlMs = 500) {
    const lookups: string[] = []
    const cache = new SessionCache(async (key) => (lookups.push(key), sessions[key]), { ttlMs, maxEntries: 3, now: () => now })
    return { cache, lookups }
  }

  it('reuses a lookup for ttlMs, then asks again', async () => {
    const { cache, lookups } = cacheOf({ k: session(1, 10) })
    await cache.resolve('k')
    now += 499
    expect(await cache.resolve('k')).toMatchObject({ sessionId: 1 })
    expect(lookups).toEqual(['k'])
    now += 1
    await cache.resolve('k')
    expect(lookups).toEqual(['k', 'k'])
  })

  it('drops a session at once when it is revoked by id or with all of its user’s', async () => {
    const sessions = { a: session(1, 10), b: session(2, 10), c: session(3, 20) }
    const { cache, lookups } = cacheOf(sessions)
    for (const key of ['a', 'b', 'c']) await cache.resolve(key)
    cache.forget({ sessionIds: [1] })
    cache.forget({ userId: 20 })
    await cache.resolve('a')
    await cache.resolve('b')
    await cache.resolve('c')
    expect(lookups).toEqual(['a', 'b', 'c', 'a', 'c'])
  })

  it('never keeps a session past its expiry, nor caches an unknown key', async () => {
    const { cache, lookups } = cacheOf({ soon: session(1, 10, 100) })
    await cache.resolve('soon')
    now += 100
    await cache.resolve('soon')
    await cache.resolve('unknown')
    await cache.resolve('unknown')
    expect(lookups).toEqual(['soon', 'soon', 'unknown', 'unknown'])
  })

  it('does not cache a lookup that a revocation overtook', async () => {
    let answer!: (s: CachedSession) => void
    const lookups: string[] = []
    const cache = new SessionCache((key) => (lookups.push(key), new Promise<CachedSession>((r) => (answer = r))), { ttlMs: 500, maxEntries: 3, now: () => now })
    const pending = cache.resolve('k')
    cache.forget({ sessionIds: [1] })
    answer(session(1, 10))
    await pending
    void cache.resolve('k')
    expect(lookups).toEqual(['k', 'k'])
  })

  it('gives requests that miss together one lookup, but none begun before a revocation to those after it', async () => {
    const answers: ((s: CachedSession) => void)[] = []
    const lookups: string[] = []
    const cache = new SessionCache((key) => (lookups.push(key), new Promise<CachedSession>((r) => answers.push(r))), { ttlMs: 500, maxEntries: 3, now: () => now })
    const together = [cache.resolve('k'), cache.resolve('k'), cache.resolve('k')]
    expect(lookups).toEqual(['k'])
    cache.forget({ sessionIds: [1] })
    const after = cache.resolve('k')
    expect(lookups).toEqual(['k', 'k'])
    answers[0]!(session(1, 10))
    answers[1]!(session(2, 10))
    expect((await Promise.all(together)).map((s) => s?.sessionId)).toEqual([1, 1, 1])
    expect((await after)?.sessionId).toBe(2)
    // the lookup after the revocation is the one cached
    expect((await cache.resolve('k'))?.sessionId).toBe(2)
    expect(lookups).toHaveLength(2)
  })

  it('holds at most maxEntries, dropping the oldest', async () => {
    const { cache } = cacheOf({ a: session(1, 1), b: session(2, 2), c: session(3, 3), d: session(4, 4) })
    for (const key of ['a', 'b', 'c', 'd']) await cache.resolve(key)
    expect(cache.size).toBe(3)
  })
})

describe.each(BACKENDS)('cached sessions on %s', (backend) => {
  let a: TestServer

  beforeAll(async () => {
    a = await startTestServer(backend)
  })
  afterAll(async () => {
    await a?.close()
  })

  it('refuses a session at once after a role change on this instance, even just after using it', async () => {
    const admin = await a.admin()
    const user = await a.user('operator')
    expect((await me(a, user.key)).statusCode).toBe(200)
    const changed = await a.app.inject({ method: 'PATCH', url: `/api/users/${user.id}`, headers: bearer(admin.key), payload: { role: 'viewer' } })
    expect(changed.statusCode).toBe(200)
    expect((await me(a, user.key)).statusCode).toBe(401)
  })

  it('refuses a session at once after signing out on this instance, even just after using it', async () => {
    const user = await a.user('viewer')
    expect((await me(a, user.key)).statusCode).toBe(200)
    expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(user.key) })).statusCode).toBe(204)
    expect((await me(a, user.key)).statusCode).toBe(401)
  })
})

// Two apps share a database only on PostgreSQL (the embedded default is one process);
// here both are in this process, each with its own session cache, as two instances have.
describe('cached sessions on two apps in one process, sharing one PostgreSQL database', () => {
  let a: TestServer
  let b: TestServer

  beforeAll(async () => {
    a = await startTestServer('postgres')
    b = await startTestServer('postgres', {}, a)
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  it('refuses a session signed out on the other app within the cache time (500 ms)', async () => {
    const user = await a.user('viewer')
    expect((await me(a, user.key)).statusCode).toBe(200)
    expect((await b.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(user.key) })).statusCode).toBe(204)
    // the bound is what is tested: 500 ms, with room for a loaded machine
    await waitUntil(async () => (await me(a, user.key)).statusCode !== 200, { timeoutMs: 2_000, everyMs: 25, what: 'the other app to refuse the signed-out session' })
    expect((await me(a, user.key)).statusCode).toBe(401)
  })
})

const me = (server: TestServer, key: string) => server.app.inject({ method: 'GET', url: '/api/me', headers: bearer(key) })
