import type { Notification, NotificationBody } from '../../contracts/notifications.ts'
import { streamPosition, type StreamPosition } from './stream-ids.ts'

/**
 * A notification as delivered: serialized and UTF-8 encoded once per
 * instance, so writing it to 10 000 sockets copies no string, and its id
 * parsed once, so checking it against each socket's last one is two number
 * comparisons.
 */
export interface Delivery {
  notification: Notification
  frame: Buffer
  position: StreamPosition
}

/** One outbox row to publish: its body, and its outbox id, kept with it so a client can drop the same event published twice. */
export interface Publication {
  event: number
  body: NotificationBody
}

export type ReplayResult = { reset: true } | { reset: false; deliveries: Delivery[] }

/**
 * The "notifications" group as seen by one server instance: what the relay
 * publishes reaches every instance's subscribers, in one order, with ids that
 * let a reconnecting client ask for what it missed. Backed by a Redis stream,
 * or by an in-process history when there is no Redis.
 */
export interface NotificationLayer {
  readonly kind: 'redis' | 'memory'
  /** appends the batch to the group, in its order; resolves once the group holds all of it (failing, the caller publishes it all again) */
  publish(batch: readonly Publication[]): Promise<void>
  subscribe(listener: (delivery: Delivery) => void): () => void
  /** the id of the newest notification this instance has fanned out: a socket added now gets everything after it */
  position(): string
  /** what came after `since`, or reset when `since` is older than the kept history */
  replay(since: string): Promise<ReplayResult>
  health(): { ok: boolean; kind: string; detail?: string }
  close(): Promise<void>
}

export function toDelivery(id: string, event: number, body: NotificationBody): Delivery {
  const notification = { id, event, ...body } as Notification
  return { notification, frame: Buffer.from(JSON.stringify(notification)), position: streamPosition(id) }
}
