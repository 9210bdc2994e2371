import { sql, type Kysely } from 'kysely'

// Alerts become records with a life (open → acknowledged → resolved), and
// every change to an incident or an area is kept in its history. Both are
// written in the transaction of the change they record.
//
// Neither table has a foreign key to the incident, the area or the user it
// names: an alert and a history entry outlive all three, so they keep what
// they show (the area's name and threshold, the user's name) beside the id.
// Alerts fired before this migration were only frames: they have no record.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TYPE alert_state AS ENUM ('open', 'acknowledged', 'resolved')`.execute(db)
  await sql`
    CREATE TABLE alerts (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      incident_id integer NOT NULL,
      area_id integer NOT NULL,
      area_name varchar(150) NOT NULL,
      area_severity severity NOT NULL,
      severity severity NOT NULL,
      fired timestamptz NOT NULL DEFAULT now(),
      state alert_state NOT NULL DEFAULT 'open',
      acknowledged_by_id integer,
      acknowledged_by_name text,
      acknowledged_at timestamptz,
      note varchar(500),
      resolved_at timestamptz,
      resolved_reason text CHECK (resolved_reason IN ('incident_closed', 'incident_deleted', 'left_area', 'below_threshold', 'area_deleted')),
      CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
      CHECK ((acknowledged_at IS NULL) = (acknowledged_by_name IS NULL))
    )`.execute(db)
  // the saves look up the alerts still standing for one incident or one area
  await sql`CREATE INDEX alerts_standing_by_incident ON alerts (incident_id) WHERE state <> 'resolved'`.execute(db)
  await sql`CREATE INDEX alerts_standing_by_area ON alerts (area_id) WHERE state <> 'resolved'`.execute(db)
  await sql`CREATE INDEX alerts_by_incident ON alerts (incident_id, id)`.execute(db)
  await sql`CREATE INDEX alerts_by_area ON alerts (area_id, id)`.execute(db)

  await sql`
    CREATE TABLE history (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      subject_kind text NOT NULL CHECK (subject_kind IN ('incident', 'area')),
      subject_id integer NOT NULL,
      action text NOT NULL,
      actor_id integer,
      actor_name text,
      changes jsonb NOT NULL DEFAULT '{}',
      alert_id integer,
      alert_area_id integer,
      alert_area_name text,
      at timestamptz NOT NULL DEFAULT now()
    )`.execute(db)
  await sql`CREATE INDEX history_by_subject ON history (subject_kind, subject_id, id)`.execute(db)

  for (const table of ['incidents', 'areas_of_interest']) {
    await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN updated_by_id integer REFERENCES users (id) ON DELETE SET NULL`.execute(db)
  }

  await sql`ALTER TABLE outbox DROP CONSTRAINT outbox_type_check`.execute(db)
  await sql`ALTER TABLE outbox ADD CONSTRAINT outbox_type_check CHECK (type IN ('post_save', 'post_delete', 'alert', 'alert_update'))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DELETE FROM outbox WHERE type = 'alert_update'`.execute(db)
  await sql`ALTER TABLE outbox DROP CONSTRAINT outbox_type_check`.execute(db)
  await sql`ALTER TABLE outbox ADD CONSTRAINT outbox_type_check CHECK (type IN ('post_save', 'post_delete', 'alert'))`.execute(db)
  for (const table of ['incidents', 'areas_of_interest']) {
    await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN updated_by_id`.execute(db)
  }
  await sql`DROP TABLE history`.execute(db)
  await sql`DROP TABLE alerts`.execute(db)
  await sql`DROP TYPE alert_state`.execute(db)
}
