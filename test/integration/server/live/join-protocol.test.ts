import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isNotification, type Notification } from '../../../../contracts/live.ts'
import { BACKENDS, bearer, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { waitUntil } from '../../../helpers/wait.ts'
import { connect } from '../../../helpers/ws-client.ts'
import { stall } from '../../../helpers/stalled-socket.ts'
import { bulkyNotifications } from '../../../helpers/notification-fixtures.ts'
import { REPLAY_PAGE_SIZE } from '../../../../server/live/stream.ts'

// A reconnecting client's replay, read from the history a page at a time and
// written only as fast as the client takes it: a reader still gets all of it,
// in order, with what was published meanwhile; a client that stops reading
// is cut off by the slow-reader rule before the history is all written out.

describe.each(BACKENDS)('replay on %s', (backend) => {
  let server: TestServer
  let url: string
  let viewer: TestUser
  let nextEvent = 1_000_000
  /** the events this instance has been delivered (its socket group with it) */
  const arrived = new Set<number>()

  beforeAll(async () => {
    const env: Record<string, string> = {
      // small, so the replay of a few hundred KB must wait for the client many times over
      WS_MAX_BUFFERED_BYTES: '16384',
      WS_SLOW_GRACE_MS: '3000',
      WS_PING_INTERVAL_MS: '600000',
    }
    if (backend === 'postgres') env.REDIS_URL = await freshRedisUrl()
    server = await startTestServer(backend, env)
    server.app.stream.subscribe((delivery) => void arrived.add(delivery.event))
    url = (await server.listen()).replace('http', 'ws') + '/ws'
    viewer = await server.user('viewer')
  })
  afterAll(() => server?.close())

  /** publishes `count` notifications of about `bytes` in batches of 100; returns their events */
  async function publish(count: number, bytes = 1000): Promise<number[]> {
    const batch = bulkyNotifications(nextEvent, count, bytes)
    nextEvent += count
    for (let i = 0; i < batch.length; i += 100) await server.app.stream.publish(batch.slice(i, i + 100))
    return batch.map((p) => p.event)
  }

  /** the layer's position once this instance has fanned out everything published so far */
  async function settledPosition(): Promise<string> {
    const probe = await connect(url, bearer(viewer.key))
    const [ready] = await probe.waitFor((f) => f.type === 'ready')
    probe.close()
    await probe.closed
    await expect.poll(() => server.app.fanOut.members.size).toBe(0)
    return (ready as { id: string }).id
  }

  it(`delivers a history of many pages (${REPLAY_PAGE_SIZE} each) in order, then what was published during the replay, each once`, async () => {
    const since = await settledPosition()
    // about 7 MB: more than the kernel takes in for a client that does not read (about 4 MB)
    const missed = await publish(REPLAY_PAGE_SIZE * 12 + 37, 6000)
    // the follower (Redis) or the history (memory) holds them all before the client asks
    await expect.poll(() => server.app.stream.position() !== since, { timeout: 5000 }).toBe(true)

    const client = await connect(`${url}?since=${since}&epoch=${server.app.stream.epoch()}`, bearer(viewer.key))
    // it reads nothing for a while, so its replay stalls on its full buffer;
    // what is published meanwhile must reach it too, after the rest
    const raw = (client.socket as unknown as { _socket: Socket })._socket
    raw.pause()
    const replaying = () => [...server.app.fanOut.members].find((m) => m.replaying)
    await expect.poll(() => (replaying()?.socket.bufferedAmount ?? 0) > 16384, { timeout: 10_000 }).toBe(true)
    const during = await publish(300)
    await waitUntil(() => during.every((event) => arrived.has(event)), { what: 'the instance to be delivered what was published during the replay' })
    expect(replaying(), 'the replay was still under way when those reached the instance').toBeDefined()
    raw.resume()

    const expected = [...missed, ...during]
    const frames = await client.waitFor(isNotification, expected.length, 30_000)
    const received = frames as Notification[]
    expect(received.map((n) => n.event)).toEqual(expected)
    for (let i = 1; i < received.length; i++) expect(compareIds(received[i]!.id, received[i - 1]!.id)).toBeGreaterThan(0)
    expect(client.frames.filter((f) => f.type === 'reset')).toEqual([])
    expect(client.frames.filter((f) => f.type === 'ready')).toHaveLength(1)

    // and it is live afterwards
    const after = await publish(3)
    const more = await client.waitFor(isNotification, expected.length + 3, 10_000)
    expect((more as Notification[]).slice(-3).map((n) => n.event)).toEqual(after)
    // and each once: a marker after them arrives with nothing more before it (the stream is ordered)
    const [marker] = await publish(1)
    await client.waitFor((f) => isNotification(f) && f.event === marker)
    expect(client.frames.filter(isNotification).map((n) => n.event)).toEqual([...expected, ...after, marker])
    client.close()
  })

  it('cuts off a client that stops reading during its replay, before the history is all written to it', async () => {
    const since = await settledPosition()
    // about 18 MB: several times what the kernel's buffers of one loopback connection take in (about 4 MB)
    const history = await publish(3000, 6000)
    await expect.poll(() => server.app.stream.position() !== since, { timeout: 5000 }).toBe(true)
    const group = server.app.fanOut
    const dropped = group.stats.droppedSlow
    const sentBefore = group.stats.framesSent

    const stalled = await stall(`${url}?since=${since}&epoch=${server.app.stream.epoch()}`, bearer(viewer.key))
    await expect.poll(() => group.stats.droppedSlow, { timeout: 15_000 }).toBe(dropped + 1)
    expect(group.members.size).toBe(0)
    // what it was written is the buffer's worth it never read, not the history
    expect(group.stats.framesSent - sentBefore).toBeLessThan(history.length / 2)
    stalled.resume()
    await stalled.closed
  })
})

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint]
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint]
  return am === bm ? Number(as - bs) : Number(am - bm)
}
