import { sql, type Kysely } from 'kysely'

// The outbox table was called `notifications`, like the frames, the Redis
// stream and the contract: named for what it is, so "notifications" in the
// code means what a socket receives.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE notifications RENAME TO outbox`.execute(db)
  await sql`ALTER SEQUENCE notifications_id_seq RENAME TO outbox_id_seq`.execute(db)
  await sql`ALTER INDEX notifications_pkey RENAME TO outbox_pkey`.execute(db)
  await sql`ALTER TABLE outbox RENAME CONSTRAINT notifications_type_check TO outbox_type_check`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE outbox RENAME CONSTRAINT outbox_type_check TO notifications_type_check`.execute(db)
  await sql`ALTER INDEX outbox_pkey RENAME TO notifications_pkey`.execute(db)
  await sql`ALTER SEQUENCE outbox_id_seq RENAME TO notifications_id_seq`.execute(db)
  await sql`ALTER TABLE outbox RENAME TO notifications`.execute(db)
}
