import type { Severity } from './severity.ts'
import type { AnyFeature, IncidentFeature } from './features.ts'
import type { Alert } from './alerts.ts'
import type { JobFrame } from './jobs.ts'

export type { JobFrame } from './jobs.ts'

/** An area named in an alert: enough for a notice without fetching the area. */
export interface AreaRef {
  id: number
  name: string
  severity: Severity
  url: string
}

/** An area an alert names, with the id of the alert record it opened (GET /api/alerts/:id). */
export interface AlertedArea extends AreaRef {
  alert_id: number
}

/**
 * What a save writes to the outbox; the relay adds the ids when it publishes.
 * `alert` says the rule fired (the notice, the sound); `alert_update` carries
 * an alert record each time its state changes, opening included, so the alert
 * log on every screen stays the same.
 */
export type NotificationBody =
  | { type: 'post_save'; created: boolean; feature: AnyFeature }
  | { type: 'post_delete'; feature: AnyFeature }
  | { type: 'alert'; feature: IncidentFeature; areas_of_interest: AlertedArea[] }
  | { type: 'alert_update'; alert: Alert }

export type NotificationType = NotificationBody['type']

/**
 * One socket frame. `id` is the stream id (ordered; clients reconnect with the
 * last one they saw); `event` is the outbox row id, stable across re-deliveries,
 * so a client can drop a duplicate it already applied.
 */
export type Notification = NotificationBody & { id: string; event: number }

/** Sent instead of a replay when the requested id is older than the kept history, or from another epoch (ReadyFrame). */
export interface ResetFrame {
  type: 'reset'
}

/**
 * Sent once the socket is live (after any replay): `id` is the position this
 * socket is at, so a client that reconnects before any notification has
 * reached it can still resume with `since` and miss nothing. `epoch` names
 * the history the ids belong to: a client resumes with both
 * (`?since=<id>&epoch=<epoch>`), and an id from another epoch (the history
 * was lost: a restart) is answered with `reset`. Null while the server can't
 * tell (its Redis unreachable): a resume without an epoch is answered with
 * `reset`.
 */
export interface ReadyFrame {
  type: 'ready'
  id: string
  epoch: string | null
}

/** Everything a socket receives. A `job` frame is the status of a job this user started (contracts/jobs.ts): not in the stream, never replayed. */
export type ServerFrame = Notification | ResetFrame | ReadyFrame | JobFrame

export const isNotification = (frame: ServerFrame): frame is Notification => frame.type !== 'reset' && frame.type !== 'ready' && frame.type !== 'job'

/**
 * Why the server closed a live socket, as WebSocket close codes. A client
 * reconnects after every one of them but SESSION_ENDED, which means sign in
 * again.
 */
export const CLOSE_CODES = {
  /** the server is shutting down: reconnect (to another instance) */
  GOING_AWAY: 1001,
  /** the session was signed out, expired or revoked */
  SESSION_ENDED: 1008,
  /** the client sent a frame over the size limit (ws closes with it) */
  MESSAGE_TOO_BIG: 1009,
  /** the notification history restarted (Redis lost its data, or was reached at last): reconnect, and reload on `reset` */
  HISTORY_RESTARTED: 1012,
} as const

/** The notifications that carry a feature: all but `alert_update`. */
export type FeatureNotification = Extract<Notification, { feature: unknown }>

export const isFeatureNotification = (frame: ServerFrame): frame is FeatureNotification => isNotification(frame) && 'feature' in frame
