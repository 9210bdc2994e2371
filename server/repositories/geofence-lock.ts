import { sql, type RawBuilder, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'

// Under READ COMMITTED, an incident saved while an area is being drawn would
// not see the uncommitted area, nor the area the uncommitted incident: that
// pair would never alert. Incident saves take this lock shared (they don't
// wait for each other) and area saves take it exclusive, so each side of a
// pair sees the other's committed state.
//
// It must be its own statement, before the statements that read: a statement
// reads from the snapshot taken when it starts, so a lock taken halfway
// through one would come too late for what that statement reads.
const GEOFENCE_LOCK = 7_734_001

/** The shared lock as a statement, for a pipelined transaction (db/pipeline.ts). */
export const geofenceSharedLock: RawBuilder<unknown> = sql`SELECT pg_advisory_xact_lock_shared(${GEOFENCE_LOCK})`

export async function lockGeofenceExclusive(trx: Transaction<Database>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${GEOFENCE_LOCK})`.execute(trx)
}
