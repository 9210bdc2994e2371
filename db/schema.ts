import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { Severity } from '../contracts/severity.ts'
import type { NotificationBody, NotificationType } from '../contracts/live.ts'
import type { Role } from '../contracts/users.ts'
import type { AlertState, ResolveReason } from '../contracts/alerts.ts'
import type { HistoryAction } from '../contracts/history.ts'
import type { Channel, DeliveryKind, DeliveryState } from '../contracts/deliveries.ts'

/** Geometry columns are read through `asGeoJSON` and written through `geomFromGeoJSON` (db/postgis.ts). */
export type Geometry = ColumnType<unknown, unknown, unknown>

type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>

export interface UsersTable {
  id: Generated<number>
  username: string
  password_hash: string
  role: Role
  created: CreatedAt
  email: ColumnType<string | null, string | null | undefined, string | null>
}

export interface SessionsTable {
  id: Generated<number>
  /** sha256 of the key; the key itself is never stored */
  key_hash: string
  user_id: number
  created: CreatedAt
  last_seen: UpdatedAt
  idle_expires: Date
  absolute_expires: ColumnType<Date, Date, never>
  revoked: ColumnType<Date | null, never, Date>
}

export interface IncidentsTable {
  id: Generated<number>
  name: string
  description: ColumnType<string, string | undefined, string>
  severity: ColumnType<Severity, Severity | undefined, Severity>
  closed: ColumnType<boolean, boolean | undefined, boolean>
  location: Geometry
  created: CreatedAt
  updated: UpdatedAt
  reporter_id: number | null
  updated_by_id: ColumnType<number | null, number | null | undefined, number | null>
  version: ColumnType<number, never, number>
}

export interface AreasOfInterestTable {
  id: Generated<number>
  name: string
  severity: ColumnType<Severity, Severity | undefined, Severity>
  polygon: Geometry
  created: CreatedAt
  updated: UpdatedAt
  owner_id: number | null
  updated_by_id: ColumnType<number | null, number | null | undefined, number | null>
  version: ColumnType<number, never, number>
  escalate_after_minutes: ColumnType<number | null, number | null | undefined, number | null>
  escalation_user_ids: ColumnType<number[], number[] | undefined, number[]>
  escalation_webhook_ids: ColumnType<number[], number[] | undefined, number[]>
}

/** An alert record (contracts/alerts.ts); keeps the area's name and threshold, and who acknowledged it, beyond their deletion. */
export interface AlertsTable {
  id: Generated<number>
  incident_id: number
  area_id: number
  area_name: string
  area_severity: Severity
  severity: Severity
  fired: CreatedAt
  state: ColumnType<AlertState, AlertState | undefined, AlertState>
  acknowledged_by_id: number | null
  acknowledged_by_name: string | null
  acknowledged_at: Date | null
  note: string | null
  resolved_at: Date | null
  resolved_reason: ResolveReason | null
}

/** One change to an incident or an area (contracts/history.ts). */
export interface HistoryTable {
  id: Generated<string>
  subject_kind: 'incident' | 'area'
  subject_id: number
  action: HistoryAction
  actor_id: number | null
  actor_name: string | null
  changes: ColumnType<Record<string, { before: unknown; after: unknown }>, string | undefined, never>
  alert_id: number | null
  alert_area_id: number | null
  alert_area_name: string | null
  at: CreatedAt
}

/** The transactional outbox: a save's notifications, written in its transaction, deleted by the relay as it publishes them. */
export interface OutboxTable {
  id: Generated<number>
  type: NotificationType
  payload: ColumnType<NotificationBody, string, never>
  /** set by the outbox trigger when the row's save decided a delivery or escalation (migration 0008): the relay then wakes the dispatcher */
  dispatch: ColumnType<boolean, never, never>
  created: CreatedAt
}

/** One user's email subscription; no row: not subscribed. `areas` null: every area. */
export interface SubscriptionsTable {
  user_id: number
  email_alerts: boolean
  min_severity: Severity
  areas: number[] | null
  updated: UpdatedAt
}

export interface WebhooksTable {
  id: Generated<number>
  url: string
  secret: string
  min_severity: Severity
  areas: number[] | null
  created_by_id: number | null
  created: CreatedAt
}

/** An alert that escalates if still open at `due` (decided by the outbox trigger, migration 0005). */
export interface EscalationsTable {
  alert_id: number
  area_id: number
  minutes: number
  due: Date
  state: ColumnType<'waiting' | 'escalated' | 'not_needed', 'waiting' | undefined, 'escalated' | 'not_needed'>
  enqueued: Date | null
  done: Date | null
}

/** One message to one recipient (contracts/deliveries.ts); `key` names the notification and the recipient. */
export interface DeliveriesTable {
  id: Generated<number>
  key: string
  kind: DeliveryKind
  channel: Channel
  /** the outbox row's id (a bigint: read as a string) */
  event: string | null
  alert_id: number | null
  user_id: number | null
  webhook_id: number | null
  address: string
  /** delivery_payloads.id: what is sent, kept once for every delivery of one notification (a bigint: read as a string) */
  payload_id: ColumnType<string, string | number, never>
  state: ColumnType<DeliveryState, DeliveryState | undefined, DeliveryState>
  attempts: ColumnType<number, never, number>
  retries: ColumnType<number, never, number>
  last_error: string | null
  created: CreatedAt
  job: string | null
  enqueued: Date | null
  last_attempt: Date | null
  sent: Date | null
}

/** The body of a notification (or an escalation) that deliveries send: one row however many receive it. */
export interface DeliveryPayloadsTable {
  id: Generated<string>
  payload: ColumnType<Record<string, unknown>, string, never>
}

/** A one-click acknowledge link in an alert mail: single use, bound to its recipient and alert. */
export interface AcknowledgeLinksTable {
  key_hash: string
  alert_id: number
  user_id: number
  expires: Date
  used: Date | null
}

export interface InvitationsTable {
  id: Generated<number>
  email: string
  role: Role
  key_hash: string
  invited_by_id: number | null
  invited_by_name: string
  created: CreatedAt
  expires: Date
  sends_requested: ColumnType<number, number | undefined, number>
  sends_done: ColumnType<number, number | undefined, number>
  enqueued: Date | null
  sent: Date | null
  send_error: string | null
  accepted: Date | null
  accepted_user_id: number | null
  revoked: Date | null
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  incidents: IncidentsTable
  areas_of_interest: AreasOfInterestTable
  outbox: OutboxTable
  alerts: AlertsTable
  history: HistoryTable
  subscriptions: SubscriptionsTable
  webhooks: WebhooksTable
  escalations: EscalationsTable
  deliveries: DeliveriesTable
  delivery_payloads: DeliveryPayloadsTable
  acknowledge_links: AcknowledgeLinksTable
  invitations: InvitationsTable
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type Session = Selectable<SessionsTable>
export type AreaRow = Selectable<AreasOfInterestTable>
export type OutboxRow = Selectable<OutboxTable>
