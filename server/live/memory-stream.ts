import { compareStreamIds, isAfter, streamPosition } from './stream-ids.ts'
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

/**
 * The embedded default's notification stream: one process, so the stream is
 * in memory, with the same ordered ids and bounded history as the Redis stream.
 */
export function memoryStream(maxLength: number): NotificationStream {
  const history: Delivery[] = []
  const listeners = new Set<(delivery: Delivery) => void>()
  let lastMs = 0
  let seq = 0
  /** the newest id trimmed from the history: a client behind it missed something */
  let maxDeletedId = '0-0'
  // the history lives and dies with this process: so does its epoch
  const epoch = newEpoch()

  function nextId(): string {
    const now = Date.now()
    if (now > lastMs) {
      lastMs = now
      seq = 0
    } else {
      seq++
    }
    return `${lastMs}-${seq}`
  }

  const position = () => history.at(-1)?.id ?? maxDeletedId

  /** the index of the first delivery after `id` (the history is in id order) */
  function firstAfter(id: string): number {
    const at = streamPosition(id)
    let low = 0
    let high = history.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (isAfter(history[middle]!.position, at)) high = middle
      else low = middle + 1
    }
    return low
  }

  // Slices of the shared history, taken one at a time as they are asked for:
  // the deliveries are the history's own (no copy), and only one page's worth
  // of references exists per replaying socket.
  async function* pagesAfter(since: string, pageSize: number): AsyncGenerator<ReplayPage> {
    let cursor = since
    while (compareStreamIds(cursor, position()) < 0) {
      if (compareStreamIds(cursor, maxDeletedId) < 0) throw new ReplayGapError(cursor)
      const start = firstAfter(cursor)
      const deliveries = history.slice(start, start + pageSize)
      cursor = deliveries.at(-1)!.id // not empty: something after the cursor is still kept
      yield { deliveries, through: cursor }
    }
  }

  return {
    kind: 'memory',
    async publish(batch: readonly Publication[]) {
      for (const { event, body } of batch) {
        const delivery = toDelivery(nextId(), event, body)
        history.push(delivery)
        if (history.length > maxLength) maxDeletedId = history.splice(0, history.length - maxLength).at(-1)!.id
        for (const listener of listeners) listener(delivery)
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    position,
    async replay(since: string, pageSize = REPLAY_PAGE_SIZE): Promise<ReplayResult> {
      if (compareStreamIds(since, maxDeletedId) < 0 || compareStreamIds(since, position()) > 0) return { reset: true }
      return { reset: false, pages: pagesAfter(since, pageSize) }
    },
    epoch: () => epoch,
    onEpochChange: () => () => {},
    health: () => ({ ok: true, kind: 'memory' }),
    async close() {
      listeners.clear()
    },
  }
}
