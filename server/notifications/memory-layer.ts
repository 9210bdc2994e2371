import { compareStreamIds } from './stream-ids.ts'
import { newEpoch, toDelivery, type Delivery, type NotificationLayer, type Publication, type ReplayResult } from './notification-layer.ts'

/**
 * The embedded default's notification group: one process, so the group is
 * in memory, with the same ordered ids and bounded history as the Redis stream.
 */
export function memoryLayer(maxLength: number): NotificationLayer {
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
    position: () => history.at(-1)?.id ?? maxDeletedId,
    async replay(since: string): Promise<ReplayResult> {
      const newest = history.at(-1)?.id ?? maxDeletedId
      if (compareStreamIds(since, maxDeletedId) < 0 || compareStreamIds(since, newest) > 0) return { reset: true }
      return { reset: false, deliveries: history.filter((d) => compareStreamIds(d.id, since) > 0) }
    },
    epoch: () => epoch,
    onEpochChange: () => () => {},
    health: () => ({ ok: true, kind: 'memory' }),
    async close() {
      listeners.clear()
    },
  }
}
