import { sql, type Kysely } from 'kysely'
import { createDecideDeliveries as createDecideDeliveries0006 } from './0006-delivery-payloads.ts'

// An outbox row says whether its save decided any delivery or escalation.
//
// The dispatcher was woken after every save, and each pass cost three short
// transactions whether or not the save had decided anything: under a steady
// stream of saves with nobody subscribed, it kept the server and the
// database busy for nothing. Only the trigger knows what was decided, so it
// now runs before the row is written and marks it (`dispatch`); the outbox
// relay, which reads every row once committed, wakes the dispatcher when it
// takes a marked one (server/live/outbox-relay.ts).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE outbox ADD COLUMN dispatch boolean NOT NULL DEFAULT false`.execute(db)
  await sql`DROP TRIGGER outbox_decides_deliveries ON outbox`.execute(db)
  // As 0006's, counting what it wrote; a BEFORE trigger, so it can mark the row it is about to be written.
  // (The row's id is already drawn: defaults are filled in before BEFORE triggers run.)
  await sql`
    CREATE OR REPLACE FUNCTION decide_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      incident_severity severity;
      alert_ids integer[];
      area_ids integer[];
      written integer;
      decided integer := 0;
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
        GET DIAGNOSTICS written = ROW_COUNT;
        decided := decided + written;
        INSERT INTO escalations (alert_id, area_id, minutes, due)
          SELECT (a ->> 'alert_id')::integer, ar.id, ar.escalate_after_minutes, now() + make_interval(mins => ar.escalate_after_minutes)
          FROM jsonb_array_elements(NEW.payload -> 'areas_of_interest') a
          JOIN areas_of_interest ar ON ar.id = (a ->> 'id')::integer
          WHERE ar.escalate_after_minutes IS NOT NULL AND a ? 'alert_id'
          ON CONFLICT (alert_id) DO NOTHING;
        GET DIAGNOSTICS written = ROW_COUNT;
        decided := decided + written;
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
        GET DIAGNOSTICS written = ROW_COUNT;
        decided := decided + written;
      END IF;
      NEW.dispatch := decided > 0;
      RETURN NEW;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER outbox_decides_deliveries BEFORE INSERT ON outbox
    FOR EACH ROW WHEN (NEW.type IN ('alert', 'alert_update'))
    EXECUTE FUNCTION decide_deliveries()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER outbox_decides_deliveries ON outbox`.execute(db)
  await createDecideDeliveries0006(db)
  await sql`
    CREATE TRIGGER outbox_decides_deliveries AFTER INSERT ON outbox
    FOR EACH ROW WHEN (NEW.type IN ('alert', 'alert_update'))
    EXECUTE FUNCTION decide_deliveries()`.execute(db)
  await sql`ALTER TABLE outbox DROP COLUMN dispatch`.execute(db)
}
