import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Severity } from '../contracts/severity.ts';
import type { NotificationBody, NotificationType } from '../contracts/live.ts';
import type { Role } from '../contracts/users.ts';
/** Geometry columns are read through `asGeoJSON` and written through `geomFromGeoJSON` (db/postgis.ts). */
export type Geometry = ColumnType<unknown, unknown, unknown>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
export interface UsersTable {
    id: Generated<number>;
    username: string;
    password_hash: string;
    role: Role;
    created: CreatedAt;
}
export interface SessionsTable {
    id: Generated<number>;
    /** sha256 of the key; the key itself is never stored */
    key_hash: string;
    user_id: number;
    created: CreatedAt;
    last_seen: UpdatedAt;
    idle_expires: Date;
    absolute_expires: ColumnType<Date, Date, never>;
    revoked: ColumnType<Date | null, never, Date>;
}
export interface IncidentsTable {
    id: Generated<number>;
    name: string;
    description: ColumnType<string, string | undefined, string>;
    severity: ColumnType<Severity, Severity | undefined, Severity>;
    closed: ColumnType<boolean, boolean | undefined, boolean>;
    location: Geometry;
    created: CreatedAt;
    updated: UpdatedAt;
    reporter_id: number | null;
    version: ColumnType<number, never, number>;
}
export interface AreasOfInterestTable {
    id: Generated<number>;
    name: string;
    severity: ColumnType<Severity, Severity | undefined, Severity>;
    polygon: Geometry;
    created: CreatedAt;
    updated: UpdatedAt;
    owner_id: number | null;
    version: ColumnType<number, never, number>;
}
/** The transactional outbox: a save's notifications, written in its transaction, deleted by the relay as it publishes them. */
export interface OutboxTable {
    id: Generated<number>;
    type: NotificationType;
    payload: ColumnType<NotificationBody, string, never>;
    created: CreatedAt;
}
export interface Database {
    users: UsersTable;
    sessions: SessionsTable;
    incidents: IncidentsTable;
    areas_of_interest: AreasOfInterestTable;
    outbox: OutboxTable;
}
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type AreaRow = Selectable<AreasOfInterestTable>;
export type OutboxRow = Selectable<OutboxTable>;
export {};
