import { sql, type Compilable, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely'
import type { IncidentFeature } from '../../contracts/features.ts'
import type { Severity } from '../../contracts/severity.ts'
import type { Database } from '../../db/schema.ts'
import { asGeoJSON, covers, geomFromGeoJSONText } from '../../db/postgis.ts'
import { statementTemplate } from '../../db/statement-template.ts'
import { alertRule, areaIdsAlertedByIncident } from './alert-rule.ts'
import { AREAS_PATH, incidentFeatureJson } from './feature-rows.ts'
import { alertIncidentJson, alertJson, change, stateBeforeResolve } from './alert-records.ts'

/** What the write of a save returns: every column the feature and the alert rule need. */
export const SAVED_COLUMNS = ['id', 'name', 'description', 'severity', 'closed', 'created', 'updated', 'version', 'reporter_id', 'updated_by_id', 'location'] as const

// The fixed parts, built once: a save builds only its write.
const SAVED_FEATURE = incidentFeatureJson('s', sql.ref('u.username'), sql.ref('ub.username'))
const DELETED_FEATURE = incidentFeatureJson('d', sql.ref('u.username'), sql.ref('ub.username'))
const ALERTS = alertRule('i', 'a')
const FIRED_AREA_REF = sql`jsonb_build_object('id', fi.area_id, 'name', fi.area_name, 'severity', fi.area_severity, 'url', ${sql.lit(AREAS_PATH)} || fi.area_id, 'alert_id', fi.id)`
const INCIDENT_NOW = alertIncidentJson('f')
const COORDINATES = (row: string) => sql`(${asGeoJSON(`${row}.location`)}) -> 'coordinates'`

/** The history entries of the alerts a statement resolved (its `resolved` CTE), at `position` among the statement's entries. */
const RESOLVED_ENTRIES = (position: number) => sql`
  SELECT ${sql.lit(position)}, r.id, 'alert_resolved',
         jsonb_build_object('state', ${change(stateBeforeResolve('r'), sql`to_jsonb('resolved'::text)`)}, 'reason', ${change(null, sql`to_jsonb(r.resolved_reason)`)}),
         r.id, r.area_id, COALESCE(a.name, r.area_name)::text
    FROM resolved AS r LEFT JOIN areas_of_interest AS a ON a.id = r.area_id`

/** What an incident's history shows of it: each field, and where it is. */
const FIELDS = ['name', 'description', 'severity', 'closed'] as const
const snapshot = (row: string, side: 'before' | 'after') =>
  sql`jsonb_build_object(${sql.join(
    [...FIELDS.map((field) => sql`${sql.lit(field)}, ${side === 'before' ? change(sql.ref(`${row}.${field}`), null) : change(null, sql.ref(`${row}.${field}`))}`),
      sql`'coordinates', ${side === 'before' ? change(COORDINATES(row), null) : change(null, COORDINATES(row))}`],
  )})`

/**
 * One incident save as one statement, so that it costs one round trip: the
 * write (`INSERT` or `UPDATE ... RETURNING SAVED_COLUMNS`), the feature as it
 * now stands, the areas the alert rule matches for it; an alert record for
 * each of those it did not match before the save (`before`: the row as the
 * statement's snapshot holds it, before the write), each standing alert of
 * an area it no longer matches resolved, the outbox rows (post_save, one
 * alert naming the areas newly alerted, then an alert_update per alert
 * opened and per alert resolved) and the history entries. Yields the
 * feature; no row when the write matched no row, and then nothing else is
 * written.
 *
 * The other parts of a statement do not see its own write, so they read the
 * rows the writes return, not the tables.
 */
export function incidentSaveStatement(write: Compilable, options: { created: true } | { created: false; before: number }): RawBuilder<{ feature: IncidentFeature }> {
  const before = options.created ? undefined : options.before
  const fresh = before === undefined ? sql`` : sql`WHERE m.id NOT IN (${areaIdsAlertedByIncident(before)})`
  return sql<{ feature: IncidentFeature }>`
    WITH saved AS (${write}),
    feature AS (
      SELECT s.id, s.name, s.description, s.severity, s.closed, s.location, s.updated_by_id, ub.username AS actor_name, ${SAVED_FEATURE} AS feature
        FROM saved AS s LEFT JOIN users AS u ON u.id = s.reporter_id LEFT JOIN users AS ub ON ub.id = s.updated_by_id
    ),
    matching AS (
      SELECT a.id, a.name, a.severity FROM feature AS i JOIN areas_of_interest AS a ON ${ALERTS}
    ),
    fired AS (
      INSERT INTO alerts (incident_id, area_id, area_name, area_severity, severity)
      SELECT i.id, m.id, m.name, m.severity, i.severity FROM feature AS i, matching AS m ${fresh}
       ORDER BY m.id
      RETURNING *
    ),
    resolved AS (
      UPDATE alerts AS al
         SET state = 'resolved', resolved_at = now(), resolved_reason = CASE
           WHEN i.closed THEN 'incident_closed'
           WHEN NOT EXISTS (SELECT 1 FROM areas_of_interest AS a WHERE a.id = al.area_id AND ${covers('a.polygon', 'i.location')}) THEN 'left_area'
           ELSE 'below_threshold' END
        FROM feature AS i
       WHERE al.incident_id = i.id AND al.state <> 'resolved' AND al.area_id NOT IN (SELECT id FROM matching)
      RETURNING al.*
    ),
    written AS (
      INSERT INTO outbox (type, payload)
      SELECT type, payload FROM (
        SELECT 1, 0, 'post_save', jsonb_build_object('type', 'post_save', 'created', ${sql.lit(options.created)}, 'feature', f.feature) FROM feature AS f
        UNION ALL
        SELECT 2, 0, 'alert', jsonb_build_object('type', 'alert', 'feature', f.feature,
            'areas_of_interest', (SELECT jsonb_agg(${FIRED_AREA_REF} ORDER BY fi.area_id) FROM fired AS fi))
          FROM feature AS f WHERE EXISTS (SELECT 1 FROM fired)
        UNION ALL
        SELECT 3, fi.id, 'alert_update', jsonb_build_object('type', 'alert_update', 'alert', ${alertJson('fi', INCIDENT_NOW)})
          FROM fired AS fi, feature AS f
        UNION ALL
        SELECT 4, r.id, 'alert_update', jsonb_build_object('type', 'alert_update', 'alert', ${alertJson('r', INCIDENT_NOW, 'a')})
          FROM resolved AS r CROSS JOIN feature AS f LEFT JOIN areas_of_interest AS a ON a.id = r.area_id
      ) AS bodies (position, alert, type, payload)
      ORDER BY position, alert
    ),
    ${before === undefined ? sql`prior AS (SELECT NULL::integer AS id WHERE false)` : sql`prior AS (SELECT * FROM incidents WHERE id = ${before})`},
    entries (position, alert, action, changes, alert_id, area_id, area_name) AS (
      ${before === undefined
        ? sql`SELECT 1, 0, 'created', ${snapshot('f', 'after')}, NULL::integer, NULL::integer, NULL::text FROM feature AS f`
        : sql`SELECT 1, 0, 'edited', edits.changes, NULL::integer, NULL::integer, NULL::text
                FROM feature AS f, prior AS p, LATERAL (
                  SELECT jsonb_object_agg(v.field, jsonb_build_object('before', v.was, 'after', v.now)) AS changes
                    FROM (VALUES ('name', to_jsonb(p.name), to_jsonb(f.name)), ('description', to_jsonb(p.description), to_jsonb(f.description)),
                                 ('severity', to_jsonb(p.severity), to_jsonb(f.severity))) AS v (field, was, now)
                   WHERE v.was IS DISTINCT FROM v.now
                ) AS edits
               WHERE edits.changes IS NOT NULL
              UNION ALL
              SELECT 2, 0, 'moved', jsonb_build_object('coordinates', ${change(COORDINATES('p'), COORDINATES('f'))}), NULL, NULL, NULL
                FROM feature AS f, prior AS p WHERE NOT ST_Equals(p.location, f.location)
              UNION ALL
              SELECT 3, 0, CASE WHEN f.closed THEN 'closed' ELSE 'reopened' END, jsonb_build_object('closed', ${change(sql.ref('p.closed'), sql.ref('f.closed'))}), NULL, NULL, NULL
                FROM feature AS f, prior AS p WHERE p.closed <> f.closed`}
      UNION ALL
      SELECT 4, fi.id, 'alert_fired', jsonb_build_object('state', ${change(null, sql`to_jsonb('open'::text)`)}), fi.id, fi.area_id, fi.area_name::text FROM fired AS fi
      UNION ALL
      ${RESOLVED_ENTRIES(5)}
    ),
    logged AS (
      INSERT INTO history (subject_kind, subject_id, action, actor_id, actor_name, changes, alert_id, alert_area_id, alert_area_name)
      SELECT 'incident', f.id, e.action, f.updated_by_id, f.actor_name, e.changes, e.alert_id, e.area_id, e.area_name
        FROM feature AS f, entries AS e
       ORDER BY e.position, e.alert
    )
    SELECT feature FROM feature`
}

/**
 * A delete as one statement: the write (`DELETE ... RETURNING SAVED_COLUMNS`),
 * its standing alerts resolved, the outbox rows (post_delete, then an
 * alert_update per alert resolved) and the history entries, by `actorId`;
 * yields the feature as it was.
 */
export function incidentDeleteStatement(write: Compilable, actorId: number | null): RawBuilder<{ feature: IncidentFeature }> {
  return sql<{ feature: IncidentFeature }>`
    WITH deleted AS (${write}),
    feature AS (
      SELECT d.id, d.name, d.description, d.severity, d.closed, d.location, ${DELETED_FEATURE} AS feature
        FROM deleted AS d LEFT JOIN users AS u ON u.id = d.reporter_id LEFT JOIN users AS ub ON ub.id = d.updated_by_id
    ),
    actor AS (SELECT id, username FROM users WHERE id = ${actorId}),
    resolved AS (
      UPDATE alerts AS al SET state = 'resolved', resolved_at = now(), resolved_reason = 'incident_deleted'
        FROM feature AS f
       WHERE al.incident_id = f.id AND al.state <> 'resolved'
      RETURNING al.*
    ),
    written AS (
      INSERT INTO outbox (type, payload)
      SELECT type, payload FROM (
        SELECT 1, 0, 'post_delete', jsonb_build_object('type', 'post_delete', 'feature', f.feature) FROM feature AS f
        UNION ALL
        SELECT 2, r.id, 'alert_update', jsonb_build_object('type', 'alert_update', 'alert', ${alertJson('r', sql`NULL`, 'a')})
          FROM resolved AS r LEFT JOIN areas_of_interest AS a ON a.id = r.area_id
      ) AS bodies (position, alert, type, payload)
      ORDER BY position, alert
    ),
    entries (position, alert, action, changes, alert_id, area_id, area_name) AS (
      SELECT 1, 0, 'deleted', ${snapshot('f', 'before')}, NULL::integer, NULL::integer, NULL::text FROM feature AS f
      UNION ALL
      ${RESOLVED_ENTRIES(2)}
    ),
    logged AS (
      INSERT INTO history (subject_kind, subject_id, action, actor_id, actor_name, changes, alert_id, alert_area_id, alert_area_name)
      SELECT 'incident', f.id, e.action, (SELECT id FROM actor), (SELECT username FROM actor), e.changes, e.alert_id, e.area_id, e.area_name
        FROM feature AS f, entries AS e
       ORDER BY e.position, e.alert
    )
    SELECT feature FROM feature`
}

/** A new incident's values, every one given (no column left to its default): what the insert template binds. */
export interface IncidentInsertValues {
  name: string
  description: string
  severity: Severity
  closed: boolean
  /** the Point as GeoJSON text */
  geometry: string
  reporterId: number | null
  /** who saved it last: the reporter, for a new incident (bound apart: a template binds each value once) */
  updatedById: number | null
}

/**
 * The save statement of a new incident, compiled once per database handle
 * (db/statement-template.ts): `create` binds only the values. The bare-SQL
 * benchmark compiles the same template, so its SQL cannot drift from ours.
 */
export function incidentInsertTemplate(db: Kysely<Database>): (values: IncidentInsertValues) => CompiledQuery {
  return statementTemplate<IncidentInsertValues>(['name', 'description', 'severity', 'closed', 'geometry', 'reporterId', 'updatedById'], (v) => {
    const insert = db
      .insertInto('incidents')
      .values({
        name: v.name,
        description: v.description,
        severity: v.severity,
        closed: v.closed,
        location: geomFromGeoJSONText(v.geometry),
        reporter_id: v.reporterId,
        updated_by_id: v.updatedById,
      })
      .returning(SAVED_COLUMNS)
    return incidentSaveStatement(insert, { created: true }).compile(db)
  })
}
