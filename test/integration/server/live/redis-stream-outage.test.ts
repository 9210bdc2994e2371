import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FeatureNotification } from '../../../../contracts/live.ts'
import { privateRedis, type PrivateRedis } from '../../../helpers/redis-server.ts'
import { bearer, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { waitUntil } from '../../../helpers/wait.ts'
import { connect } from '../../../helpers/ws-client.ts'

// Redis goes away while incidents keep coming in. Saves must not notice; the
// outbox holds the notifications until Redis is back, and then every client
// gets every one, in order.

describe('a Redis outage, under two apps in one process sharing a database', () => {
  let redis: PrivateRedis
  let redisDir: string
  let a: TestServer
  let b: TestServer
  let operator: TestUser

  beforeAll(async () => {
    redisDir = await mkdtemp(join(tmpdir(), 'redis-outage-'))
    // append-only: a restarted Redis still has the stream, as a production one would
    redis = await privateRedis({ dir: redisDir, appendOnly: true })
    await redis.start()
    const env = { REDIS_URL: redis.url, RELAY_SWEEP_MS: '200', LOG_LEVEL: 'error' }
    a = await startTestServer('postgres', env)
    b = await startTestServer('postgres', env, a)
    operator = await a.user('operator')
  })

  afterAll(async () => {
    if (b && b !== a) await b.app.close()
    await a?.close()
    await redis?.stop()
    await rm(redisDir, { recursive: true, force: true })
  })

  it('loses nothing: every save succeeds, and every client receives every notification in order', async () => {
    const urls = [(await a.listen()).replace('http', 'ws'), (await b.listen()).replace('http', 'ws')]
    const clients = await Promise.all(urls.map((url) => connect(`${url}/ws`, bearer(operator.key))))

    const statuses: number[] = []
    const created: string[] = []
    /** one incident, through each app in turn */
    const save = async () => {
      const i = statuses.length
      const response = await (i % 2 ? b : a).app.inject({
        method: 'POST', url: '/api/incidents', headers: bearer(operator.key),
        payload: { name: `incident ${i}`, location: { lon: i % 180, lat: 0 } },
      })
      statuses.push(response.statusCode)
      if (response.statusCode === 201) created.push(response.json().id)
    }

    // live before: every client has what was saved so far
    for (let i = 0; i < 10; i++) await save()
    await Promise.all(clients.map((client) => client.waitFor((f) => f.type === 'post_save', 10)))

    await redis.stop()
    // saves go on while both apps find Redis gone, and go on after
    const down = () => !a.app.streamHealth().ok && !b.app.streamHealth().ok
    await waitUntil(async () => (await save(), down()), { timeoutMs: 30_000, what: 'both apps to report the notification layer down' })
    for (let i = 0; i < 20; i++) await save()
    expect(a.app.streamHealth().ok).toBe(false)
    expect(b.app.streamHealth().ok).toBe(false)
    // what was saved meanwhile waits in the outbox
    const waiting = await a.app.db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    expect(Number(waiting.n)).toBeGreaterThanOrEqual(20)

    await redis.start()
    for (let i = 0; i < 10; i++) await save()

    expect(statuses.every((s) => s === 201)).toBe(true)
    for (const client of clients) {
      // a notification may come twice after the outage (at least once): wait for
      // every distinct one, not for as many frames, which repeats would fill
      const unique = () => [...new Map(client.frames.filter((f): f is FeatureNotification => f.type === 'post_save').map((n) => [n.event, n])).values()]
      await waitUntil(() => unique().length >= created.length, { timeoutMs: 30_000, what: () => `${created.length} distinct post_save frames (${unique().length} so far)` })
      expect(unique().map((n) => n.feature.id)).toEqual(created) // all of them, in the order they were saved
    }
    clients.forEach((c) => c.close())
  }, 90_000)
})
