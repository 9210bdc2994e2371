import { createClient, type RedisClientType } from 'redis'
import { compareStreamIds } from './stream-ids.ts'
import {
  REPLAY_PAGE_SIZE,
  newEpoch,
  ReplayGapError,
  toDelivery,
  type Delivery,
  type NotificationStream,
  type Publication,
  type ReplayPage,
  type ReplayResult,
} from './stream.ts'

export const STREAM = 'notifications'
/** the epoch of the history the stream holds (stream.ts): lost with the stream when Redis restarts without persistence */
export const EPOCH_KEY = `${STREAM}:epoch`
/** how often a connected instance looks at the epoch again, so a flushed Redis is noticed without a reconnect */
const EPOCH_CHECK_MS = 1000

type Entry = [id: string, fields: string[]]

export interface RedisStreamOptions {
  url: string
  maxLength: number
  onError: (message: string) => void
  /** how long the call waits for a first connection before it returns a stream that is still connecting (default 2 s) */
  connectWaitMs?: number
}

/**
 * The "notifications" stream in Redis: the relay XADDs (trimmed to
 * about `maxLength` entries), and every instance follows the stream with a
 * blocking XREAD of its own, fanning entries out to its local sockets.
 *
 * Redis need not be up: it connects in the background and keeps
 * trying, and until it has reached Redis it is down (health), publishing
 * fails at once (the rows wait in the outbox) and nothing is replayed.
 */
export async function redisStream(options: RedisStreamOptions): Promise<NotificationStream> {
  // Publishing must fail fast while Redis is away (the relay retries from the
  // outbox); queuing would hold the relay's transaction open for the outage.
  const commands = createClient({ url: options.url, disableOfflineQueue: true, socket: { reconnectStrategy: retry } }) as RedisClientType
  const reader = createClient({ url: options.url, socket: { reconnectStrategy: retry } }) as RedisClientType
  const listeners = new Set<(delivery: Delivery) => void>()
  const epochListeners = new Set<(epoch: string) => void>()
  let closed = false
  let lastError: string | undefined
  /** the epoch of the history `lastId` belongs to, as last read from Redis; undefined until first read */
  let epoch: string | undefined
  /**
   * Whether `epoch` was read since the connections last dropped. A Redis that
   * restarted empty looks, until then, like the old one with a short stream,
   * and a replay from it would be partial.
   */
  let epochChecked = false
  /** counts drops, so a check that was under way when one happened doesn't vouch for the new connection */
  let drops = 0
  let lastCheck = 0
  let lastId = '0-0'
  let firstCheck!: () => void
  const firstChecked = new Promise<void>((resolve) => (firstCheck = resolve))

  for (const client of [commands, reader]) {
    client.on('error', (error: Error) => {
      if (lastError !== error.message) options.onError(`redis: ${error.message}`)
      lastError = error.message
      drops++
      epochChecked = false
    })
    client.on('ready', () => (lastError = undefined))
  }
  // connect() retries (reconnectStrategy) until it connects; it fails only when close() ends it first
  for (const client of [commands, reader]) client.connect().catch(() => {})

  async function checkEpoch(): Promise<void> {
    const dropsBefore = drops
    const args = ['EVAL', CLAIM_EPOCH, '2', EPOCH_KEY, STREAM, newEpoch(), epoch ?? '', epoch === undefined ? '0-0' : lastId]
    const [found, newest] = (await reader.sendCommand(args)) as [string, string]
    lastCheck = Date.now()
    if (found !== epoch) {
      // Follow from the stream's end, as a new instance does: on a new history
      // every socket is closed (the listeners) and its client reloads, and what
      // the stream holds up to here is in what it reloads.
      lastId = newest
      epoch = found
      for (const listener of epochListeners) listener(found)
    }
    if (drops === dropsBefore) epochChecked = true
    firstCheck()
  }

  const following = (async () => {
    while (!closed) {
      try {
        if (!reader.isReady) {
          await sleep(100)
          continue
        }
        if (!epochChecked || Date.now() - lastCheck >= EPOCH_CHECK_MS) await checkEpoch()
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

  let waited: NodeJS.Timeout | undefined
  await Promise.race([firstChecked, new Promise((resolve) => (waited = setTimeout(resolve, options.connectWaitMs ?? 2000)))])
  clearTimeout(waited)

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
      // Not before this instance has looked at the history since Redis came
      // back: a Redis restored from an older snapshot has lost the stream's
      // tail, which only an instance that read past it can tell (checkEpoch),
      // and only while nothing newer hides the gap. The relay retries.
      if (!epochChecked) throw new Error('redis: the notification history is not checked since the connection came back')
      const args = ['EVAL', PUBLISH_BATCH, '1', STREAM, String(options.maxLength)]
      for (const { event, body } of batch) args.push(String(event), body)
      // no timer per command (node-redis arms one by default, and under load
      // those were a measurable share of the server's CPU): the relay bounds
      // each batch it publishes with one (outbox-relay.ts)
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
    epoch: () => (epochChecked ? epoch : undefined),
    onEpochChange(listener) {
      epochListeners.add(listener)
      return () => epochListeners.delete(listener)
    },
    health: () =>
      epochChecked && commands.isReady && reader.isReady
        ? { ok: true, kind: 'redis' }
        : { ok: false, kind: 'redis', detail: epoch === undefined ? 'connecting' : 'reconnecting' },
    async close() {
      closed = true
      listeners.clear()
      epochListeners.clear()
      await following
      // a client still connecting has nothing to finish: destroy() ends its retries
      await Promise.allSettled([commands, reader].map(async (client) => (client.isReady ? client.close() : client.destroy())))
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
 * server a command, a promise and a reply to decode each: a measurable share
 * of its CPU under the geofence benchmark. Redis runs a script without
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

/**
 * Reads the stream's epoch, or makes a new one when the history it named is
 * gone: no epoch (a fresh Redis, or one restarted without its data: the
 * stream went with it), or the stream ends before what this instance has
 * already read (restored from an older snapshot, or an AOF that lost its
 * last second: the tail is gone, and a client resuming from before it would
 * miss it). One script, so instances racing to make it agree on the first:
 * the epoch is replaced only if it is still the one this instance knew.
 * Returns the epoch and the stream's last id, where following resumes.
 * KEYS: the epoch key, the stream; ARGV: a new epoch, the epoch this instance
 * knows ('' for none), the last id it read.
 */
const CLAIM_EPOCH = `
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local newest = '0-0'
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then newest = info[i + 1] end
  end
end
local epoch = redis.call('GET', KEYS[1])
if not epoch or (epoch == ARGV[2] and before(newest, ARGV[3])) then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
return {epoch, newest}`

const retry = (attempt: number) => Math.min(100 * 2 ** attempt, 2000)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
