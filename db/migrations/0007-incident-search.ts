import { sql, type Kysely } from 'kysely'

// A text search over incidents' names and descriptions (`q` on
// GET /api/incidents): a case-insensitive match of any part of a word, as a
// person typing "fire" expects to find "Wildfire". That is ILIKE '%fire%',
// which a b-tree cannot serve; pg_trgm's GIN trigram indexes can (for three
// characters or more). Full-text search would have matched whole words only
// ("fire" would not find "Wildfire").
//
// One index per column rather than one on `name || ' ' || description`: the
// query asks each column on its own (a phrase never spans the two), and
// PostgreSQL combines the two index scans (BitmapOr).
//
// pg_trgm is a trusted extension (PostgreSQL 13+), so a database owner may
// create it; the embedded PGlite loads it from @electric-sql/pglite's contrib
// folder (db/connect.ts).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db)
  await sql`CREATE INDEX incidents_name_trgm ON incidents USING gin (name gin_trgm_ops)`.execute(db)
  await sql`CREATE INDEX incidents_description_trgm ON incidents USING gin (description gin_trgm_ops)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX incidents_description_trgm`.execute(db)
  await sql`DROP INDEX incidents_name_trgm`.execute(db)
  // the extension stays: dropping it could break anything else in the database that came to use it
}
