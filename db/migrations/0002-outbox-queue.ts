import { sql, type Kysely } from 'kysely'

// The outbox becomes a queue: the relay deletes a row in the transaction
// that publishes it, where it used to mark the row published and delete it
// an hour later. Marking wrote a second version of every row, and the
// partial index on the unpublished ones (which `published` fed) a second
// index entry per save; the history it kept is what the Redis stream
// already holds for replay. Rows published before this migration are
// deleted; rows not yet published stay and are published as before.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DELETE FROM notifications WHERE published IS NOT NULL`.execute(db)
  await sql`DROP INDEX notifications_unpublished`.execute(db)
  await sql`ALTER TABLE notifications DROP COLUMN published`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE notifications ADD COLUMN published timestamptz`.execute(db)
  await sql`CREATE INDEX notifications_unpublished ON notifications (id) WHERE published IS NULL`.execute(db)
}
