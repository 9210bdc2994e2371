import { sql, type Kysely } from 'kysely'

// Alerts reach people off the dashboard: by email to subscribed users and by
// signed POSTs to registered webhooks, escalated when nobody acknowledged
// them in time; admins invite people by email. The worker's jobs
// (server/jobs/) do the sending; these tables are what they work from, so a
// restart of any process resumes where it stopped.
//
// What must be delivered is decided in the save's transaction: a trigger on
// the outbox turns each `alert` and `alert_update` row into one delivery per
// matching recipient, in the transaction that wrote the row, whichever
// repository wrote it (incident save, area save, acknowledgement). A
// delivery's `key` names the notification and the recipient, so the same
// notification never makes two deliveries to one recipient.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN email varchar(254)`.execute(db)
  await sql`CREATE UNIQUE INDEX users_email ON users (lower(email)) WHERE email IS NOT NULL`.execute(db)

  // No row: not subscribed. `areas` null: every area.
  await sql`
    CREATE TABLE subscriptions (
      user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      email_alerts boolean NOT NULL DEFAULT false,
      min_severity severity NOT NULL DEFAULT 'high',
      areas integer[],
      updated timestamptz NOT NULL DEFAULT now()
    )`.execute(db)

  // The secret signs every POST (Standard Webhooks); it is needed to sign, so it is kept as given out.
  await sql`
    CREATE TABLE webhooks (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      url varchar(2000) NOT NULL,
      secret text NOT NULL,
      min_severity severity NOT NULL DEFAULT 'high',
      areas integer[],
      created_by_id integer REFERENCES users (id) ON DELETE SET NULL,
      created timestamptz NOT NULL DEFAULT now()
    )`.execute(db)

  // Escalation: an alert still open this many minutes after it fired goes to these users and webhooks, once.
  await sql`ALTER TABLE areas_of_interest ADD COLUMN escalate_after_minutes integer CHECK (escalate_after_minutes BETWEEN 1 AND 10080)`.execute(db)
  await sql`ALTER TABLE areas_of_interest ADD COLUMN escalation_user_ids integer[] NOT NULL DEFAULT '{}'`.execute(db)
  await sql`ALTER TABLE areas_of_interest ADD COLUMN escalation_webhook_ids integer[] NOT NULL DEFAULT '{}'`.execute(db)

  await sql`
    CREATE TABLE escalations (
      alert_id integer PRIMARY KEY,
      area_id integer NOT NULL,
      minutes integer NOT NULL,
      due timestamptz NOT NULL,
      state text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'escalated', 'not_needed')),
      enqueued timestamptz,
      done timestamptz
    )`.execute(db)
  await sql`CREATE INDEX escalations_waiting ON escalations (due) WHERE state = 'waiting'`.execute(db)

  await sql`
    CREATE TABLE deliveries (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key text NOT NULL UNIQUE,
      kind text NOT NULL CHECK (kind IN ('alert', 'alert_update', 'escalation')),
      channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
      event bigint,
      alert_id integer,
      user_id integer REFERENCES users (id) ON DELETE SET NULL,
      webhook_id integer REFERENCES webhooks (id) ON DELETE SET NULL,
      address text NOT NULL,
      payload jsonb NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      -- retries an admin asked for: each is a new job (the failed one keeps its id in the job engine)
      retries integer NOT NULL DEFAULT 0,
      last_error text,
      created timestamptz NOT NULL DEFAULT now(),
      -- the job it was handed over in: deliveries go in batches, and a batch handed over again keeps its job id
      job text,
      enqueued timestamptz,
      last_attempt timestamptz,
      sent timestamptz
    )`.execute(db)
  await sql`CREATE INDEX deliveries_unfinished ON deliveries (id) WHERE state IN ('pending', 'sending')`.execute(db)
  await sql`CREATE INDEX deliveries_by_state ON deliveries (state, id)`.execute(db)

  await sql`
    CREATE TABLE acknowledge_links (
      key_hash text PRIMARY KEY,
      alert_id integer NOT NULL,
      user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      expires timestamptz NOT NULL,
      used timestamptz
    )`.execute(db)

  await sql`
    CREATE TABLE invitations (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email varchar(254) NOT NULL,
      role user_role NOT NULL,
      key_hash text NOT NULL UNIQUE,
      invited_by_id integer REFERENCES users (id) ON DELETE SET NULL,
      invited_by_name text NOT NULL,
      created timestamptz NOT NULL DEFAULT now(),
      expires timestamptz NOT NULL,
      sends_requested integer NOT NULL DEFAULT 1,
      sends_done integer NOT NULL DEFAULT 0,
      enqueued timestamptz,
      sent timestamptz,
      send_error text,
      accepted timestamptz,
      accepted_user_id integer REFERENCES users (id) ON DELETE SET NULL,
      revoked timestamptz
    )`.execute(db)
  await sql`CREATE INDEX invitations_to_send ON invitations (id) WHERE sends_done < sends_requested AND revoked IS NULL AND accepted IS NULL`.execute(db)

  await createDecideDeliveries(db)
  await sql`
    CREATE TRIGGER outbox_decides_deliveries AFTER INSERT ON outbox
    FOR EACH ROW WHEN (NEW.type IN ('alert', 'alert_update'))
    EXECUTE FUNCTION decide_deliveries()`.execute(db)
}

/** The trigger's function as this migration made it (0006's `down` puts it back). */
export async function createDecideDeliveries(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION decide_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      incident_severity severity;
      alert_ids integer[];
      area_ids integer[];
    BEGIN
      IF NEW.type = 'alert' THEN
        incident_severity := (NEW.payload -> 'feature' -> 'properties' ->> 'severity')::severity;
        SELECT array_agg((a ->> 'id')::integer), array_agg((a ->> 'alert_id')::integer)
          INTO area_ids, alert_ids
          FROM jsonb_array_elements(NEW.payload -> 'areas_of_interest') a;
        INSERT INTO deliveries (key, kind, channel, event, alert_id, user_id, address, payload)
          SELECT 'alert/' || NEW.id || '/email/' || u.id, 'alert', 'email', NEW.id, alert_ids[1], u.id, u.email, NEW.payload
          FROM subscriptions s JOIN users u ON u.id = s.user_id
          WHERE s.email_alerts AND u.email IS NOT NULL
            AND incident_severity >= s.min_severity
            AND (s.areas IS NULL OR s.areas && area_ids)
          ON CONFLICT (key) DO NOTHING;
        INSERT INTO deliveries (key, kind, channel, event, alert_id, webhook_id, address, payload)
          SELECT 'alert/' || NEW.id || '/webhook/' || w.id, 'alert', 'webhook', NEW.id, alert_ids[1], w.id, w.url, NEW.payload
          FROM webhooks w
          WHERE incident_severity >= w.min_severity AND (w.areas IS NULL OR w.areas && area_ids)
          ON CONFLICT (key) DO NOTHING;
        INSERT INTO escalations (alert_id, area_id, minutes, due)
          SELECT (a ->> 'alert_id')::integer, ar.id, ar.escalate_after_minutes, now() + make_interval(mins => ar.escalate_after_minutes)
          FROM jsonb_array_elements(NEW.payload -> 'areas_of_interest') a
          JOIN areas_of_interest ar ON ar.id = (a ->> 'id')::integer
          WHERE ar.escalate_after_minutes IS NOT NULL AND a ? 'alert_id'
          ON CONFLICT (alert_id) DO NOTHING;
      ELSIF NEW.type = 'alert_update' THEN
        -- webhooks hear of every change of state; email is for new alerts and escalations only
        INSERT INTO deliveries (key, kind, channel, event, alert_id, webhook_id, address, payload)
          SELECT 'alert_update/' || NEW.id || '/webhook/' || w.id, 'alert_update', 'webhook', NEW.id,
                 (NEW.payload -> 'alert' ->> 'id')::integer, w.id, w.url, NEW.payload
          FROM webhooks w
          WHERE (NEW.payload -> 'alert' ->> 'severity')::severity >= w.min_severity
            AND (w.areas IS NULL OR (NEW.payload -> 'alert' -> 'area' ->> 'id')::integer = ANY (w.areas))
          ON CONFLICT (key) DO NOTHING;
      END IF;
      RETURN NULL;
    END $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER outbox_decides_deliveries ON outbox`.execute(db)
  await sql`DROP FUNCTION decide_deliveries()`.execute(db)
  for (const table of ['invitations', 'acknowledge_links', 'deliveries', 'escalations', 'webhooks', 'subscriptions']) {
    await sql`DROP TABLE ${sql.table(table)}`.execute(db)
  }
  for (const column of ['escalation_webhook_ids', 'escalation_user_ids', 'escalate_after_minutes']) {
    await sql`ALTER TABLE areas_of_interest DROP COLUMN ${sql.ref(column)}`.execute(db)
  }
  await sql`DROP INDEX users_email`.execute(db)
  await sql`ALTER TABLE users DROP COLUMN email`.execute(db)
}
