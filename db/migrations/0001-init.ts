import { sql, type Kysely } from 'kysely'

// Migrations take Kysely<any> and import nothing from the app, so this file
// still runs unchanged after the app's types move on.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS postgis`.execute(db)

  // Declared lowest first so that enum comparison is severity comparison:
  // an incident alerts an area when incident.severity >= area.severity.
  await sql`CREATE TYPE severity AS ENUM ('info', 'low', 'medium', 'high', 'urgent')`.execute(db)
  await sql`CREATE TYPE user_role AS ENUM ('viewer', 'operator', 'admin')`.execute(db)

  await sql`
    CREATE TABLE users (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
      password_hash text NOT NULL,
      role user_role NOT NULL DEFAULT 'viewer',
      created timestamptz NOT NULL DEFAULT now()
    )`.execute(db)

  await sql`
    CREATE TABLE sessions (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key_hash text NOT NULL UNIQUE,
      user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created timestamptz NOT NULL DEFAULT now(),
      last_seen timestamptz NOT NULL DEFAULT now(),
      idle_expires timestamptz NOT NULL,
      absolute_expires timestamptz NOT NULL,
      revoked timestamptz
    )`.execute(db)
  await sql`CREATE INDEX sessions_user ON sessions (user_id)`.execute(db)

  await sql`
    CREATE TABLE incidents (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name varchar(150) NOT NULL CHECK (length(name) >= 1),
      description varchar(1000) NOT NULL DEFAULT '',
      severity severity NOT NULL DEFAULT 'medium',
      closed boolean NOT NULL DEFAULT false,
      location geometry(Point, 4326) NOT NULL,
      created timestamptz NOT NULL DEFAULT now(),
      updated timestamptz NOT NULL DEFAULT now(),
      reporter_id integer REFERENCES users (id) ON DELETE SET NULL,
      version integer NOT NULL DEFAULT 1
    )`.execute(db)
  await sql`CREATE INDEX incidents_location ON incidents USING gist (location)`.execute(db)
  await sql`CREATE INDEX incidents_updated ON incidents (updated)`.execute(db)

  await sql`
    CREATE TABLE areas_of_interest (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name varchar(150) NOT NULL CHECK (length(name) >= 1),
      severity severity NOT NULL DEFAULT 'medium',
      polygon geometry(Geometry, 4326) NOT NULL
        CONSTRAINT areas_polygon_type CHECK (GeometryType(polygon) IN ('POLYGON', 'MULTIPOLYGON'))
        CONSTRAINT areas_polygon_valid CHECK (ST_IsValid(polygon)),
      created timestamptz NOT NULL DEFAULT now(),
      updated timestamptz NOT NULL DEFAULT now(),
      owner_id integer REFERENCES users (id) ON DELETE SET NULL,
      version integer NOT NULL DEFAULT 1
    )`.execute(db)
  await sql`CREATE INDEX areas_polygon ON areas_of_interest USING gist (polygon)`.execute(db)

  // The transactional outbox: rows are written in the same transaction as the
  // change they describe and published by the relay after commit.
  await sql`
    CREATE TABLE notifications (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      type text NOT NULL CHECK (type IN ('post_save', 'post_delete', 'alert')),
      payload jsonb NOT NULL,
      created timestamptz NOT NULL DEFAULT now(),
      published timestamptz
    )`.execute(db)
  await sql`CREATE INDEX notifications_unpublished ON notifications (id) WHERE published IS NULL`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['notifications', 'areas_of_interest', 'incidents', 'sessions', 'users']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
  await sql`DROP TYPE IF EXISTS user_role`.execute(db)
  await sql`DROP TYPE IF EXISTS severity`.execute(db)
}
