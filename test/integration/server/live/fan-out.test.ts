import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { notificationJson, toDelivery, type Delivery } from '../../../../server/live/stream.ts'
import { FanOut, type FanOutMember } from '../../../../server/live/fan-out.ts'
import { streamPosition } from '../../../../server/live/stream-ids.ts'
import { savedIncident } from '../../../helpers/notification-fixtures.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// The fan-out on its own, over real loopback sockets: a batch reaches every
// member whole and in order, the loop keeps turning while a large batch goes
// out, and a member that joins mid-way gets what comes after its position.

const body = savedIncident

const deliveries = (from: number, count: number): Delivery[] =>
  Array.from({ length: count }, (_, i) => toDelivery(`1700000000000-${from + i}`, from + i, notificationJson(body(from + i))))

interface Harness {
  group: FanOut
  /** ids received by each client, in arrival order */
  received: string[][]
  /** the member, the ids its client received and the texts of the frames, in arrival order */
  join(): Promise<{ member: FanOutMember; received: string[]; texts: string[] }>
  close(): Promise<void>
}

async function harness(): Promise<Harness> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  const group = new FanOut(64 * 1024 * 1024, 60_000)
  const clients: WebSocket[] = []
  const received: string[][] = []
  return {
    group,
    received,
    async join() {
      const accepted = once(server, 'connection') as Promise<[WebSocket]>
      const client = new WebSocket(url)
      const ids: string[] = []
      const texts: string[] = []
      client.on('message', (data, isBinary) => {
        if (isBinary) throw new Error('a notification arrived as a binary frame')
        texts.push(data.toString())
        ids.push((JSON.parse(data.toString()) as { id: string }).id)
      })
      clients.push(client)
      received.push(ids)
      const [socket] = await accepted
      await once(client, 'open')
      const member: FanOutMember = { socket, sessionId: 1, userId: 1, replaying: false, seenThrough: null, overCapSince: null }
      group.add(member)
      return { member, received: ids, texts }
    },
    async close() {
      group.stop()
      for (const client of clients) client.terminate()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describe('socket group fan-out', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('gives every member a whole batch, in order, once', async () => {
    h = await harness()
    for (let i = 0; i < 100; i++) await h.join()
    const batch = deliveries(1, 1000)
    const expected = batch.map((d) => d.id)

    for (const delivery of batch) h.group.broadcast(delivery)
    await waitUntil(() => h!.received.every((ids) => ids.length >= expected.length), { timeoutMs: 20_000, what: 'every member to have the batch' })

    for (const ids of h.received) expect(ids).toEqual(expected)
    expect(h.group.stats.framesSent).toBe(100 * 1000)
  })

  it('lets the loop turn while it writes to many sockets, however long each write takes', async () => {
    // A batch is framed once and each socket gets it in one write, so real
    // loopback sockets are written too fast to need a second slice here:
    // these members' sockets take a millisecond per write, as a large batch
    // to thousands of sockets adds up to.
    const group = new FanOut(64 * 1024 * 1024, 60_000)
    const writes: number[] = []
    const slowSocket = (index: number) =>
      ({
        OPEN: 1,
        readyState: 1,
        bufferedAmount: 0,
        _socket: {
          write() {
            const until = performance.now() + 1
            while (performance.now() < until);
            writes.push(index)
            return true
          },
        },
      }) as unknown as FanOutMember['socket']
    for (let i = 0; i < 200; i++) group.add({ socket: slowSocket(i), sessionId: 1, userId: 1, replaying: false, seenThrough: null, overCapSince: null })
    try {
      let writtenWhenLoopTurned = -1
      for (const delivery of deliveries(1, 10)) group.broadcast(delivery)
      setImmediate(() => setImmediate(() => (writtenWhenLoopTurned = writes.length)))
      await waitUntil(() => writes.length === 200, { what: 'every member written' })
      // something scheduled meanwhile ran between slices, not after the whole batch
      expect(writtenWhenLoopTurned).toBeGreaterThan(0)
      expect(writtenWhenLoopTurned).toBeLessThan(200)
      expect(writes).toEqual(Array.from({ length: 200 }, (_, i) => i))
      expect(group.stats.framesSent).toBe(200 * 10)
    } finally {
      group.stop()
    }
  })

  it('frames a batch once so that a ws client reads each notification whole, whatever its length', async () => {
    h = await harness()
    const { texts } = await h.join()
    // each length class of a frame header (7-bit, 16-bit, 64-bit) and its edges
    const lengths = [40, 125, 126, 127, 65_535, 65_536, 200_000]
    const batch: Delivery[] = lengths.map((length, i) => {
      const id = `1700000000000-${i + 1}`
      const empty = `{"id":"${id}","pad":""}`
      const frame = Buffer.from(`{"id":"${id}","pad":"${'x'.repeat(length - empty.length)}"}`)
      return { id, event: i + 1, frame, position: streamPosition(id) }
    })
    expect(batch.map((d) => d.frame.length)).toEqual(lengths)
    for (const delivery of batch) h.group.broadcast(delivery)
    await waitUntil(() => texts.length === lengths.length, { what: 'every frame' })
    expect(texts).toEqual(batch.map((d) => d.frame.toString()))
  })

  it('keeps batches in order when more arrive during a fan-out', async () => {
    h = await harness()
    for (let i = 0; i < 50; i++) await h.join()
    const first = deliveries(1, 500)
    const second = deliveries(501, 500)
    for (const delivery of first) h.group.broadcast(delivery)
    setImmediate(() => second.forEach((d) => h!.group.broadcast(d)))
    const expected = [...first, ...second].map((d) => d.id)
    await waitUntil(() => h!.received.every((ids) => ids.length >= expected.length), { timeoutMs: 20_000, what: 'every member to have both batches' })
    for (const ids of h.received) expect(ids).toEqual(expected)
  })

  it('sends a member that joins mid-way only what comes after the position it was told', async () => {
    h = await harness()
    for (let i = 0; i < 50; i++) await h.join()
    const queued = deliveries(1, 500)
    for (const delivery of queued) h.group.broadcast(delivery)
    // joins while the batch is queued or going out; the layer would tell it 1700000000000-500
    const late = await h.join()
    h.group.skipThrough(late.member, queued.at(-1)!.id)
    const next = deliveries(501, 3)
    next.forEach((d) => h!.group.broadcast(d))
    // a marker after them: frames to a socket arrive in order, so once the marker is in,
    // anything of the queued batch that was going to reach the late member has too
    const [marker] = deliveries(504, 1)
    h.group.broadcast(marker!)
    await waitUntil(() => late.received.includes(marker!.id) && h!.received[0]!.length >= 504, { timeoutMs: 20_000, what: 'the marker' })
    expect(late.received).toEqual([...next, marker!].map((d) => d.id))
  })

  it('skips what a member already has when replay and live overlap', async () => {
    h = await harness()
    const { member, received } = await h.join()
    const all = deliveries(1, 10)
    h.group.send(member, all.slice(0, 6))
    h.group.send(member, all.slice(3))
    // a marker after them: once it is in, any duplicate sent before it would be too (frames arrive in order)
    const [marker] = deliveries(11, 1)
    h.group.send(member, [marker!])
    await waitUntil(() => received.includes(marker!.id), { what: 'the marker' })
    expect(received).toEqual([...all, marker!].map((d) => d.id))
  })
})
