import { createClient, type RedisClientType } from 'redis'
import { compareStreamIds } from './stream-ids.ts'
import {
  REPLAY_PAGE_SIZE,
  ReplayGapError,
  toDelivery,
  type Delivery,
  type NotificationLayer,
  type Publication,
  type ReplayPage,
  type ReplayResult,
} from './notification-layer.ts'

export const STREAM = 'notifications'

type Entry = [id: string, fields: string[]]

export interface RedisLayerOptions {
  url: string
  maxLength: number
  onError: (message: string) => void
}

/**
 * The "notifications" group on a Redis stream: the relay XADDs (trimmed to
 * about `maxLength` entries), and every instance follows the stream with a
 * blocking XREAD of its own, fanning entries out to its local sockets.
 */
export async function redisLayer(options: RedisLayerOptions): Promise<NotificationLayer> {
  // Publishing must fail fast while Redis is away (the relay retries from the
  // outbox); queuing would hold the relay's transaction open for the outage.
  const commands = createClient({ url: options.url, disableOfflineQueue: true, socket: { reconnectStrategy: retry } }) as RedisClientType
  const reader = createClient({ url: options.url, socket: { reconnectStrategy: retry } }) as RedisClientType
  let connected = false
  let lastError: string | undefined
  for (const client of [commands, reader]) {
    client.on('error', (error: Error) => {
      if (lastError !== error.message) options.onError(`redis: ${error.message}`)
      lastError = error.message
      connected = false
    })
    client.on('ready', () => {
      connected = commands.isReady && reader.isReady
      lastError = undefined
    })
  }
  await Promise.all([commands.connect(), reader.connect()])
  connected = true

  const listeners = new Set<(delivery: Delivery) => void>()
  let closed = false
  let lastId = ((await commands.sendCommand(['XREVRANGE', STREAM, '+', '-', 'COUNT', '1'])) as Entry[])[0]?.[0] ?? '0-0'

  const following = (async () => {
    while (!closed) {
      try {
        const reply = (await reader.sendCommand(['XREAD', 'COUNT', '500', 'BLOCK', '1000', 'STREAMS', STREAM, lastId])) as
          | [string, Entry[]][]
          | Record<string, Entry[]>
          | null
        for (const entry of entriesOf(reply)) {
          lastId = entry[0]
          const delivery = parseEntry(entry)
          if (delivery) for (const listener of listeners) listener(delivery)
        }
      } catch {
        if (!closed) await sleep(200) // reconnecting; resume from lastId, so nothing is skipped
      }
    }
  })()

  // One XRANGE per page, sent only when the socket has taken the previous
  // page, so a replay holds one page in memory however long the history.
  // After the first page it reads from its cursor inclusive: if that entry is
  // gone, the stream was trimmed past the replay, and it may have missed some.
  async function* pagesAfter(since: string, pageSize: number): AsyncGenerator<ReplayPage> {
    let through = since
    let first = true
    while (compareStreamIds(through, lastId) < 0) {
      const page = await readPage(through, first, pageSize)
      first = false
      through = page.through
      yield page
    }
  }

  // apart from the generator, so the reply's strings are not kept alive while it waits at `yield`
  async function readPage(cursor: string, first: boolean, pageSize: number): Promise<ReplayPage> {
    const entries = (await commands.sendCommand(
      ['XRANGE', STREAM, first ? `(${cursor}` : cursor, '+', 'COUNT', String(first ? pageSize : pageSize + 1)],
    )) as Entry[]
    if (!first && entries.shift()?.[0] !== cursor) throw new ReplayGapError(cursor)
    // nothing after the cursor, yet the follower has read past it: entries were deleted under us
    if (entries.length === 0) throw new ReplayGapError(cursor)
    const deliveries: Delivery[] = []
    for (const entry of entries) {
      const delivery = parseEntry(entry)
      if (delivery) deliveries.push(delivery)
    }
    return { deliveries, through: entries.at(-1)![0] }
  }

  return {
    kind: 'redis',
    async publish(batch: readonly Publication[]) {
      if (batch.length === 0) return
      const args = ['EVAL', PUBLISH_BATCH, '1', STREAM, String(options.maxLength)]
      for (const { event, body } of batch) args.push(String(event), body)
      // no timer per command (node-redis arms one by default, and under load
      // those were a few percent of the server's CPU): the relay bounds each
      // batch it publishes with one (outbox-relay.ts)
      await commands.sendCommand(args, { timeout: 0 })
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    // the follower moves lastId before it calls the listeners, in the same tick
    position: () => lastId,
    async replay(since: string, pageSize = REPLAY_PAGE_SIZE): Promise<ReplayResult> {
      const info = (await commands.sendCommand(['XINFO', 'STREAM', STREAM]).catch(() => null)) as unknown[] | Record<string, unknown> | null
      const field = (name: string) => (Array.isArray(info) ? info[info.indexOf(name) + 1] : info?.[name])
      const newest = String(field('last-generated-id') ?? '0-0')
      const firstEntry = field('first-entry') as Entry | null | undefined
      // MAXLEN trimming does not advance max-deleted-entry-id, so: once anything
      // was trimmed (more added than kept), a client older than the oldest kept
      // entry may have missed some. (At the exact edge it reloads needlessly,
      // which is safe.)
      const trimmed = Number(field('entries-added') ?? 0) > Number(field('length') ?? 0)
      const olderThanHistory = trimmed && (!firstEntry || compareStreamIds(since, firstEntry[0]) < 0)
      if (olderThanHistory || compareStreamIds(since, newest) > 0) return { reset: true }
      return { reset: false, pages: pagesAfter(since, pageSize) }
    },
    health: () => (connected && commands.isReady ? { ok: true, kind: 'redis' } : { ok: false, kind: 'redis', detail: 'reconnecting' }),
    async close() {
      closed = true
      listeners.clear()
      await following
      await Promise.allSettled([commands.close(), reader.close()])
    },
  }
}

function entriesOf(reply: [string, Entry[]][] | Record<string, Entry[]> | null): Entry[] {
  if (!reply) return []
  if (Array.isArray(reply)) return reply.flatMap(([, entries]) => entries)
  return Object.values(reply).flat()
}

function parseEntry([id, fields]: Entry): Delivery | undefined {
  const value = (name: string) => fields[fields.indexOf(name) + 1]
  try {
    return toDelivery(id, Number(value('event')), value('body') ?? '')
  } catch {
    return undefined // not ours: someone else wrote to the stream
  }
}

/**
 * XADDs a whole relay batch in one command, where one XADD per row cost the
 * server a command, a promise and a reply to decode each: several percent of
 * its CPU under the geofence benchmark. Redis runs a script without
 * interleaving other commands, so the batch lands in order and in one piece.
 * (Should one XADD fail, say Redis out of memory, the entries before it stay;
 * the relay publishes the whole batch again and clients drop the repeats by
 * their event id.) ARGV: the MAXLEN (~) to trim to, then event and body of
 * each entry.
 */
const PUBLISH_BATCH = `
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'event', ARGV[i], 'body', ARGV[i + 1])
end
return (#ARGV - 1) / 2`

const retry = (attempt: number) => Math.min(100 * 2 ** attempt, 2000)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
