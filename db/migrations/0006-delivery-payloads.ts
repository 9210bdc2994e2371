import { sql, type Kysely } from 'kysely'
import { createDecideDeliveries as createDecideDeliveries0005 } from './0005-deliveries.ts'

// A notification's payload is kept once, not in each of its deliveries.
//
// An alert that 1 000 subscribers receive made 1 000 delivery rows, each
// with a copy of the alert's payload (about 1.5 KB), and each row is written
// four times on its way (decided, handed over, claimed, sent): PostgreSQL
// rewrote 6 KB per mail for a payload that is the same in every row. The
// payload now lives in `delivery_payloads`, one row per notification (per
// escalation), and a delivery names it.
//
// The rest of a delivery's writes get cheaper too. Its index on (state, id)
// took a new entry at every step; the admins' lists it served are as quick
// from the primary key (most rows are sent), from the partial index of the
// unfinished ones, and from a new partial index of the failed ones, which
// takes no entry for a row that is pending, sending or sent. Pages are left
// 40 % free, so the dispatcher's note of the job a row went in (columns no
// index reads) is written on the row's own page without touching an index
// (a HOT update).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE delivery_payloads (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      payload jsonb NOT NULL,
      -- only while this migration moves the payloads of existing deliveries
      moved_from integer
    )`.execute(db)
  await sql`ALTER TABLE deliveries ADD COLUMN payload_id bigint REFERENCES delivery_payloads (id)`.execute(db)
  await sql`INSERT INTO delivery_payloads (payload, moved_from) SELECT payload, id FROM deliveries`.execute(db)
  await sql`UPDATE deliveries d SET payload_id = p.id FROM delivery_payloads p WHERE p.moved_from = d.id`.execute(db)
  await sql`ALTER TABLE delivery_payloads DROP COLUMN moved_from`.execute(db)
  await sql`ALTER TABLE deliveries ALTER COLUMN payload_id SET NOT NULL`.execute(db)
  await sql`ALTER TABLE deliveries DROP COLUMN payload`.execute(db)
  await sql`DROP INDEX deliveries_by_state`.execute(db)
  await sql`CREATE INDEX deliveries_failed ON deliveries (id) WHERE state = 'failed'`.execute(db)
  await sql`ALTER TABLE deliveries SET (fillfactor = 60)`.execute(db)
  // housekeeping removes a payload once no delivery names it (server/jobs/housekeeping.ts)
  await sql`CREATE INDEX deliveries_payload ON deliveries (payload_id)`.execute(db)

  await createDecideDeliveries(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE deliveries RESET (fillfactor)`.execute(db)
  await sql`DROP INDEX deliveries_failed`.execute(db)
  await sql`CREATE INDEX deliveries_by_state ON deliveries (state, id)`.execute(db)
  await sql`DROP INDEX deliveries_payload`.execute(db)
  await sql`ALTER TABLE deliveries ADD COLUMN payload jsonb`.execute(db)
  await sql`UPDATE deliveries d SET payload = p.payload FROM delivery_payloads p WHERE p.id = d.payload_id`.execute(db)
  await sql`ALTER TABLE deliveries ALTER COLUMN payload SET NOT NULL`.execute(db)
  await sql`ALTER TABLE deliveries DROP COLUMN payload_id`.execute(db)
  await sql`DROP TABLE delivery_payloads`.execute(db)
  await createDecideDeliveries0005(db)
}

/** The trigger's function as this migration made it (0008's `down` puts it back): as 0005's, but the payload is written once, and only when someone is to receive it. */
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
        WITH recipients AS (
          SELECT 'email' AS channel, u.id AS user_id, NULL::integer AS webhook_id, u.email AS address
            FROM subscriptions s JOIN users u ON u.id = s.user_id
            WHERE s.email_alerts AND u.email IS NOT NULL
              AND incident_severity >= s.min_severity
              AND (s.areas IS NULL OR s.areas && area_ids)
          UNION ALL
          SELECT 'webhook', NULL, w.id, w.url
            FROM webhooks w
            WHERE incident_severity >= w.min_severity AND (w.areas IS NULL OR w.areas && area_ids)
        ), body AS (
          INSERT INTO delivery_payloads (payload) SELECT NEW.payload WHERE EXISTS (SELECT FROM recipients) RETURNING id
        )
        INSERT INTO deliveries (key, kind, channel, event, alert_id, user_id, webhook_id, address, payload_id)
          SELECT 'alert/' || NEW.id || '/' || r.channel || '/' || coalesce(r.user_id, r.webhook_id), 'alert', r.channel, NEW.id,
                 alert_ids[1], r.user_id, r.webhook_id, r.address, body.id
          FROM recipients r, body
          ON CONFLICT (key) DO NOTHING;
        INSERT INTO escalations (alert_id, area_id, minutes, due)
          SELECT (a ->> 'alert_id')::integer, ar.id, ar.escalate_after_minutes, now() + make_interval(mins => ar.escalate_after_minutes)
          FROM jsonb_array_elements(NEW.payload -> 'areas_of_interest') a
          JOIN areas_of_interest ar ON ar.id = (a ->> 'id')::integer
          WHERE ar.escalate_after_minutes IS NOT NULL AND a ? 'alert_id'
          ON CONFLICT (alert_id) DO NOTHING;
      ELSIF NEW.type = 'alert_update' THEN
        -- webhooks hear of every change of state; email is for new alerts and escalations only
        WITH recipients AS (
          SELECT w.id AS webhook_id, w.url AS address
            FROM webhooks w
            WHERE (NEW.payload -> 'alert' ->> 'severity')::severity >= w.min_severity
              AND (w.areas IS NULL OR (NEW.payload -> 'alert' -> 'area' ->> 'id')::integer = ANY (w.areas))
        ), body AS (
          INSERT INTO delivery_payloads (payload) SELECT NEW.payload WHERE EXISTS (SELECT FROM recipients) RETURNING id
        )
        INSERT INTO deliveries (key, kind, channel, event, alert_id, webhook_id, address, payload_id)
          SELECT 'alert_update/' || NEW.id || '/webhook/' || r.webhook_id, 'alert_update', 'webhook', NEW.id,
                 (NEW.payload -> 'alert' ->> 'id')::integer, r.webhook_id, r.address, body.id
          FROM recipients r, body
          ON CONFLICT (key) DO NOTHING;
      END IF;
      RETURN NULL;
    END $$`.execute(db)
}
