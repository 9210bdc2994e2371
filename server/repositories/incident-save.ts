import { sql, type Compilable, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely'
import type { IncidentFeature } from '../../contracts/features.ts'
import type { Severity } from '../../contracts/severity.ts'
import type { Database } from '../../db/schema.ts'
import { geomFromGeoJSONText } from '../../db/postgis.ts'
import { statementTemplate } from '../../db/statement-template.ts'
import { alertRule } from './alert-rule.ts'
import { areaRefJson, incidentFeatureJson } from './feature-rows.ts'

/** What the write of a save returns: every column the feature and the alert rule need. */
export const SAVED_COLUMNS = ['id', 'name', 'description', 'severity', 'closed', 'created', 'updated', 'version', 'reporter_id', 'location'] as const

// The fixed parts, built once: a save builds only its write.
const SAVED_FEATURE = incidentFeatureJson('s', sql.ref('u.username'))
const DELETED_FEATURE = incidentFeatureJson('d', sql.ref('u.username'))
const ALERTS = alertRule('i', 'a')
const AREA_REF = areaRefJson('a')

/**
 * One incident save as one statement, so that it costs one round trip: the
 * write (`INSERT` or `UPDATE ... RETURNING SAVED_COLUMNS`), the feature as it
 * now stands, the areas the alert rule matches for it less those it already
 * alerted (`alertedBefore`, read from the snapshot before the write), and the
 * outbox rows (post_save, then one alert naming those areas, if any), in the
 * order the repository used to write them. Yields the feature; no row when
 * the write matched no row, and then nothing is written to the outbox.
 *
 * The other parts of a statement do not see its own write, so the feature
 * and the alert rule read the row the write returns, not the table.
 */
export function incidentSaveStatement(
  write: Compilable,
  options: { created: boolean; alertedBefore?: RawBuilder<{ id: number }> },
): RawBuilder<{ feature: IncidentFeature }> {
  const fresh = options.alertedBefore ? sql`WHERE a.id NOT IN (${options.alertedBefore})` : sql``
  return sql<{ feature: IncidentFeature }>`
    WITH saved AS (${write}),
    feature AS (
      SELECT s.closed, s.location, s.severity, ${SAVED_FEATURE} AS feature
        FROM saved AS s LEFT JOIN users AS u ON u.id = s.reporter_id
    ),
    alerted AS (
      SELECT jsonb_agg(${AREA_REF} ORDER BY a.id) AS areas
        FROM feature AS i JOIN areas_of_interest AS a ON ${ALERTS}
        ${fresh}
    ),
    written AS (
      INSERT INTO outbox (type, payload)
      SELECT type, payload FROM (
        SELECT 1, 'post_save', jsonb_build_object('type', 'post_save', 'created', ${sql.lit(options.created)}, 'feature', f.feature) FROM feature AS f
        UNION ALL
        SELECT 2, 'alert', jsonb_build_object('type', 'alert', 'feature', f.feature, 'areas_of_interest', a.areas)
          FROM feature AS f, alerted AS a WHERE a.areas IS NOT NULL
      ) AS bodies (position, type, payload)
      ORDER BY position
    )
    SELECT feature FROM feature`
}

/** A delete as one statement: the write (`DELETE ... RETURNING SAVED_COLUMNS`) and its post_delete outbox row; yields the feature as it was. */
export function incidentDeleteStatement(write: Compilable): RawBuilder<{ feature: IncidentFeature }> {
  return sql<{ feature: IncidentFeature }>`
    WITH deleted AS (${write}),
    feature AS (
      SELECT ${DELETED_FEATURE} AS feature
        FROM deleted AS d LEFT JOIN users AS u ON u.id = d.reporter_id
    ),
    written AS (
      INSERT INTO outbox (type, payload)
      SELECT 'post_delete', jsonb_build_object('type', 'post_delete', 'feature', feature) FROM feature
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
}

/**
 * The save statement of a new incident, compiled once per database handle
 * (db/statement-template.ts): `create` binds only the values. The bare-SQL
 * benchmark compiles the same template, so its SQL cannot drift from ours.
 */
export function incidentInsertTemplate(db: Kysely<Database>): (values: IncidentInsertValues) => CompiledQuery {
  return statementTemplate<IncidentInsertValues>(['name', 'description', 'severity', 'closed', 'geometry', 'reporterId'], (v) => {
    const insert = db
      .insertInto('incidents')
      .values({
        name: v.name,
        description: v.description,
        severity: v.severity,
        closed: v.closed,
        location: geomFromGeoJSONText(v.geometry),
        reporter_id: v.reporterId,
      })
      .returning(SAVED_COLUMNS)
    return incidentSaveStatement(insert, { created: true }).compile(db)
  })
}
