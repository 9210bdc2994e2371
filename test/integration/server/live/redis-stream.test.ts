import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from 'redis'
import { redisStream, STREAM } from '../../../../server/live/redis-stream.ts'
import { notificationJson, notificationOf, type Delivery, type NotificationJson, type NotificationStream } from '../../../../server/live/stream.ts'
import { deletedIncident } from '../../../helpers/notification-fixtures.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// The relay publishes a batch in one command (redis-stream.ts): the stream
// must hold every entry of it, in the batch's order, each with its event id
// and body, trimmed to the history length; and every instance following the
// stream must deliver them in that order.

const body = deletedIncident

describe('publishing a batch to the Redis stream', () => {
  let url: string
  let layer: NotificationStream
  let reader: ReturnType<typeof createClient>

  beforeAll(async () => {
    url = await freshRedisUrl()
    layer = await redisStream({ url, maxLength: 10, onError: () => {} })
    reader = createClient({ url })
    await reader.connect()
  })
  afterAll(async () => {
    await reader?.close()
    await layer?.close()
  })

  const entries = async () => (await reader.sendCommand(['XRANGE', STREAM, '-', '+'])) as [string, string[]][]

  it('appends every entry of the batch in order, and the follower delivers them in that order', async () => {
    const delivered: Delivery[] = []
    const unsubscribe = layer.subscribe((delivery) => delivered.push(delivery))
    await layer.publish([1, 2, 3].map((n) => ({ event: n, body: notificationJson(body(n)) })))
    const stored = await entries()
    expect(stored.map(([, fields]) => fields)).toEqual([1, 2, 3].map((n) => ['event', String(n), 'body', JSON.stringify(body(n))]))
    await waitUntil(() => delivered.length >= 3, { what: 'the three deliveries' })
    unsubscribe()
    expect(delivered.map((d) => d.event)).toEqual([1, 2, 3])
    expect(delivered.map((d) => d.id)).toEqual(stored.map(([id]) => id))
    expect(JSON.parse(delivered[0]!.frame.toString())).toEqual({ id: stored[0]![0], event: 1, ...body(1) })
  })

  it('passes the body through as PostgreSQL wrote it, and skips stream entries that are not notifications', async () => {
    const delivered: Delivery[] = []
    const unsubscribe = layer.subscribe((delivery) => delivered.push(delivery))
    // jsonb's text: a space after every colon and comma, keys in its own order
    const text = '{"type": "post_delete", "feature": {"id": "incident:7", "type": "Feature", "geometry": {"type": "Point", "coordinates": [7.25, -1]}, "properties": {"name": "é \\"q\\""}}}'
    await reader.sendCommand(['XADD', STREAM, '*', 'event', '6', 'body', '[1, 2]']) // someone else's entry
    await reader.sendCommand(['XADD', STREAM, '*', 'note', 'no event here'])
    await layer.publish([{ event: 7, body: text as NotificationJson }])
    // the stream is read in order: once 7 is in, the entries before it have been read, and skipped
    await waitUntil(() => delivered.length >= 1, { what: 'the delivery of event 7' })
    unsubscribe()
    expect(delivered.map((d) => d.event)).toEqual([7])
    expect(JSON.parse(delivered[0]!.frame.toString())).toEqual({ id: delivered[0]!.id, event: 7, ...JSON.parse(text) })
    expect(notificationOf(delivered[0]!)).toMatchObject({ event: 7, type: 'post_delete', feature: { properties: { name: 'é "q"' } } })
  })

  it('sends nothing for an empty batch', async () => {
    const before = (await entries()).length
    await layer.publish([])
    expect(await entries()).toHaveLength(before)
  })

  it('trims the stream to about the history length', async () => {
    for (let round = 0; round < 20; round++) await layer.publish(Array.from({ length: 50 }, (_, i) => ({ event: 100 + round * 50 + i, body: notificationJson(body(i)) })))
    // MAXLEN ~ trims whole radix-tree nodes (100 entries each by default): about, not exactly
    expect((await entries()).length).toBeLessThanOrEqual(200)
  })
})
