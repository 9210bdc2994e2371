import type { Notification, NotificationBody } from '../../contracts/live.ts'
import { randomBytes } from 'node:crypto'
import { streamPosition, type StreamPosition } from './stream-ids.ts'

/**
 * A notification body as JSON text (an object with its `type`): how the
 * outbox row leaves PostgreSQL and how it is stored in the stream. Passed
 * through as text, never parsed on its way from the outbox to the sockets.
 */
export type NotificationJson = string & { readonly __notification: NotificationBody }

/** The JSON text of a body built in JavaScript (tests, and anything else that publishes without the outbox). */
export const notificationJson = (body: NotificationBody): NotificationJson => JSON.stringify(body) as NotificationJson

/**
 * A notification as delivered: its frame encoded once per instance, so
 * writing it to thousands of sockets copies no string, and its id parsed
 * once, so checking it against each socket's last one is two number
 * comparisons.
 */
export interface Delivery {
  /** the stream's id for it (the stream entry id) */
  id: string
  /** the outbox id it was published from: the same for a notification published twice */
  event: number
  /** the Notification as the socket sends it: UTF-8 JSON */
  frame: Buffer
  position: StreamPosition
}

/** One outbox row to publish: its body, and its outbox id, kept with it so a client can drop the same event published twice. */
export interface Publication {
  event: number
  body: NotificationJson
}

/** One page of a replay: its deliveries, oldest first, and the newest stream id it covers (entries that are not ours are covered, not delivered). */
export interface ReplayPage {
  deliveries: Delivery[]
  through: string
}

/**
 * A replay is read page by page, as the socket takes it: a page is asked for
 * only once the previous one is written, so a client that does not read holds
 * one page, not the whole history. The pages end once they have caught up
 * with `position()`: everything after the last page reaches a socket that goes
 * live at once (in the same turn of the loop). If the history is trimmed past
 * the replay meanwhile (it was too slow), the next page throws `ReplayGapError`.
 */
export type ReplayResult = { reset: true } | { reset: false; pages: AsyncIterable<ReplayPage> }

/**
 * How many notifications a replay reads at a time. A stalled replay holds one
 * page of its own (from Redis, a copy per socket) on top of the output cap,
 * so a page stays small; more per page saved little but round trips.
 */
export const REPLAY_PAGE_SIZE = 100

export class ReplayGapError extends Error {
  constructor(through: string) {
    super(`the history was trimmed past ${through} while it was being replayed`)
  }
}

/**
 * The "notifications" stream as seen by one server instance: what the relay
 * publishes reaches every instance's subscribers, in one order, with ids that
 * let a reconnecting client ask for what it missed. Backed by a Redis stream,
 * or by an in-process history when there is no Redis.
 */
export interface NotificationStream {
  readonly kind: 'redis' | 'memory'
  /** appends the batch to the stream, in its order; resolves once the stream holds all of it (failing, the caller publishes it all again) */
  publish(batch: readonly Publication[]): Promise<void>
  subscribe(listener: (delivery: Delivery) => void): () => void
  /** the id of the newest notification this instance has fanned out: a socket added now gets everything after it */
  position(): string
  /** what came after `since`, in pages read as they are asked for, or reset when `since` is older than the kept history */
  replay(since: string, pageSize?: number): Promise<ReplayResult>
  /**
   * The history the ids belong to: made anew when the history is (a new
   * process for the in-process stream; a Redis that came back without its
   * data). An id from another epoch can't be replayed from this history,
   * however it compares. Undefined while this instance can't tell (Redis not
   * reached since it connected last): nothing can be replayed then.
   */
  epoch(): string | undefined
  /** Called when the epoch changes under a running instance: its live sockets may have missed what the lost history held. */
  onEpochChange(listener: (epoch: string) => void): () => void
  health(): { ok: boolean; kind: string; detail?: string }
  close(): Promise<void>
}

/**
 * The frame is the body with the id and event written in front of its
 * fields: the text as PostgreSQL wrote it, not parsed and serialized again
 * (which, under load, was a measurable share of the server's CPU). A body
 * that is not a JSON object with fields is refused.
 */
export function toDelivery(id: string, event: number, body: string): Delivery {
  if (!Number.isSafeInteger(event) || !/^\{\s*"/.test(body) || !body.endsWith('}')) {
    throw new Error(`not a notification: event ${event}, body ${body.slice(0, 40)}`)
  }
  const frame = Buffer.from(`{"id":${JSON.stringify(id)},"event":${event},${body.slice(1)}`)
  return { id, event, frame, position: streamPosition(id) }
}

/** The notification a delivery carries, parsed from its frame (for whoever needs the object, not the hot path). */
export function notificationOf(delivery: Delivery): Notification {
  return JSON.parse(delivery.frame.toString('utf8')) as Notification
}

/** A new epoch: random, so two histories never share one (96 bits, URL-safe). */
export const newEpoch = (): string => randomBytes(12).toString('base64url')

/** What an epoch looks like on the wire (`?epoch=`). */
export const EPOCH = /^[A-Za-z0-9_-]{1,64}$/
