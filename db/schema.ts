import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { Severity } from '../contracts/severity.ts'
import type { NotificationBody, NotificationType } from '../contracts/live.ts'
import type { Role } from '../contracts/users.ts'
import type { AlertState, ResolveReason } from '../contracts/alerts.ts'
import type { HistoryAction } from '../contracts/history.ts'

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
  created: CreatedAt
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  incidents: IncidentsTable
  areas_of_interest: AreasOfInterestTable
  outbox: OutboxTable
  alerts: AlertsTable
  history: HistoryTable
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type Session = Selectable<SessionsTable>
export type AreaRow = Selectable<AreasOfInterestTable>
export type OutboxRow = Selectable<OutboxTable>
