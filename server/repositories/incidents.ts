import { sql, type Kysely, type SelectQueryBuilder } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { BBox, Point } from '../../contracts/geojson.ts'
import type { IncidentFeature } from '../../contracts/features.ts'
import { DEFAULT_SEVERITY, type Severity } from '../../contracts/severity.ts'
import { asGeoJSON, envelope, geomFromGeoJSON, intersects } from '../../db/postgis.ts'
import { incidentsWithReporter, isoTimestamp, selectIncidents, toIncidentFeature, toPage, type IncidentSelection, type Page } from './feature-rows.ts'
import { geofenceSharedLock } from './geofence-lock.ts'
import { incidentDeleteStatement, incidentInsertTemplate, incidentSaveStatement, SAVED_COLUMNS } from './incident-save.ts'
import { pipelinedTransaction } from '../../db/pipeline.ts'
import { GroupCommit } from '../../db/group-commit.ts'
import { NotFoundError } from '../errors.ts'
import { assertVersion } from './version-check.ts'
import type { SaveHooks } from './hooks.ts'

export interface IncidentInput {
  name: string
  description?: string | undefined
  severity?: Severity | undefined
  closed?: boolean | undefined
  geometry: Point
}

export type IncidentChanges = Partial<IncidentInput>

export interface IncidentFilter {
  bbox?: BBox | undefined
  severity?: Severity[] | undefined
  closed?: boolean | undefined
  /** only incidents updated at or after this instant */
  since?: Date | undefined
  /** only incidents whose name or description contains this text, ignoring case (contracts/incident-search.ts) */
  q?: string | undefined
  /** id of the last incident of the previous page */
  cursor?: number | undefined
  limit: number
}

export type IncidentRepository = ReturnType<typeof incidentRepository>

type IncidentQuery<O> = ReturnType<typeof incidentsWithReporter> extends SelectQueryBuilder<infer DB, infer TB, infer _> ? SelectQueryBuilder<DB, TB, O> : never

export interface IncidentRepositoryOptions {
  /** creates committed at once; the rest wait and are committed together (DB_SAVE_CONCURRENCY) */
  saveConcurrency: number
}

/** The text as a LIKE pattern matches it literally: `%`, `_` and the escape character itself (backslash, LIKE's default) escaped. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&')

/** At most this many creates in one transaction: a group's saves run one after another in one backend. */
export const MAX_CREATE_GROUP = 32

/** The only way incidents are created, changed and deleted. */
export function incidentRepository(db: Kysely<Database>, hooks: SaveHooks, options: IncidentRepositoryOptions) {
  async function get(id: number): Promise<IncidentFeature> {
    const row = await selectIncidents(db).where('i.id', '=', id).executeTakeFirst()
    if (!row) throw new NotFoundError('incident', id)
    return toIncidentFeature(row as IncidentSelection)
  }

  /** What `list`, `listRows` and `pageCursors` share: one filter, one order. */
  function matching<O>(query: IncidentQuery<O>, filter: Omit<IncidentFilter, 'limit'>): IncidentQuery<O> {
    if (filter.bbox) query = query.where(intersects('i.location', envelope(filter.bbox)))
    if (filter.severity?.length) query = query.where('i.severity', 'in', filter.severity)
    if (filter.closed !== undefined) query = query.where('i.closed', '=', filter.closed)
    if (filter.since) query = query.where('i.updated', '>=', filter.since)
    if (filter.q !== undefined) {
      // served by the trigram indexes (db/migrations/0007-incident-search.ts)
      const pattern = `%${escapeLike(filter.q)}%`
      query = query.where((eb) => eb.or([eb('i.name', 'ilike', pattern), eb('i.description', 'ilike', pattern)]))
    }
    if (filter.cursor !== undefined) query = query.where('i.id', '>', filter.cursor)
    return query.orderBy('i.id')
  }

  async function list(filter: IncidentFilter): Promise<Page<IncidentFeature>> {
    const query = matching(selectIncidents(db), filter).limit(filter.limit + 1)
    return toPage((await query.execute()) as IncidentSelection[], filter.limit, toIncidentFeature)
  }

  /**
   * The page `list` would give, each incident as an IncidentRow already
   * serialized by PostgreSQL: the server only joins the rows' text, where
   * parsing a page of rows into objects and serializing them again kept it
   * busy for a noticeable while per page. Dates are written as
   * `toISOString` writes them.
   */
  async function listRows(filter: IncidentFilter): Promise<Page<string>> {
    const row = sql<string>`json_build_array(
      i.id, ${asGeoJSON('i.location')} -> 'coordinates', i.name, i.description, i.severity, i.closed,
      ${isoTimestamp(sql.ref('i.created'))}, ${isoTimestamp(sql.ref('i.updated'))}, u.username, ub.username, i.version)::text`
    const query = matching(incidentsWithReporter(db).select(['i.id', row.as('row')]), filter).limit(filter.limit + 1)
    return toPage(await query.execute(), filter.limit, (r) => r.row)
  }

  /** The cursor each page of `limit` starts after (null for the first), at most `pages` of them. */
  async function pageCursors(filter: Omit<IncidentFilter, 'cursor'>, pages: number): Promise<(number | null)[]> {
    // `lead` rather than `count(*) OVER ()`: a count needs every row before
    // the first boundary can be given, where this streams in id order and
    // stops at the last boundary asked for: measurably quicker on a full
    // table (docs/performance-log.md).
    const ranked = matching(
      incidentsWithReporter(db).select(['i.id', sql<number>`row_number() OVER (ORDER BY i.id)`.as('n'), sql<number | null>`lead(i.id) OVER (ORDER BY i.id)`.as('next')]),
      filter,
    )
    const rows = await db
      .selectFrom(ranked.as('r'))
      .select('r.id')
      // a page boundary at the very last row would start an empty page
      .where(sql<boolean>`r.n % ${filter.limit} = 0 AND r.next IS NOT NULL`)
      .orderBy('r.id')
      .limit(pages - 1)
      .execute()
    return [null, ...rows.map((r) => r.id)]
  }

  // A save is one pipelined transaction (one round trip): the shared geofence
  // lock, then (for a change) the row locked and its version read, then one
  // statement that writes the incident and its outbox rows and yields the
  // feature (incident-save.ts). The version check is in the write's WHERE, so
  // a stale version writes nothing and is reported after the commit.

  // built once: the statements a create sends are the same every time but for its values
  const sharedLock = geofenceSharedLock.compile(db)
  const insertIncident = incidentInsertTemplate(db)
  // Creates are independent of one another, so those that arrive while
  // `saveConcurrency` are being committed go out together in the next
  // transaction (db/group-commit.ts): under load PostgreSQL pays for one
  // begin, lock and commit per group, not per save. Alone, a create is sent at once.
  const creates = new GroupCommit(db, { prefix: [sharedLock], inFlight: options.saveConcurrency, maxGroup: MAX_CREATE_GROUP })

  async function create(input: IncidentInput, reporterId: number | null): Promise<IncidentFeature> {
    const insert = insertIncident({
      name: input.name,
      description: input.description ?? '',
      // the columns' defaults, written out: the template binds every column
      severity: input.severity ?? DEFAULT_SEVERITY,
      closed: input.closed ?? false,
      geometry: JSON.stringify(input.geometry),
      reporterId,
      updatedById: reporterId,
    })
    const saved = await creates.submit(insert)
    const feature = (saved.rows[0] as { feature: IncidentFeature }).feature
    await hooks.postSave(feature, true)
    return feature
  }

  async function update(id: number, changes: IncidentChanges, expectedVersion?: number, actorId: number | null = null): Promise<IncidentFeature> {
    let write = db
      .updateTable('incidents')
      .set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.severity !== undefined && { severity: changes.severity }),
        ...(changes.closed !== undefined && { closed: changes.closed }),
        ...(changes.geometry !== undefined && { location: geomFromGeoJSON(changes.geometry) }),
        updated: sql<Date>`now()`,
        updated_by_id: actorId,
        version: sql<number>`version + 1`,
      })
      .where('id', '=', id)
    if (expectedVersion !== undefined) write = write.where('version', '=', expectedVersion)
    const [, current, saved] = await pipelinedTransaction(db, [
      sharedLock,
      lockedVersion(id),
      incidentSaveStatement(write.returning(SAVED_COLUMNS), { created: false, before: id }).compile(db),
    ])
    assertVersion('incident', id, current!.rows[0] as { version: number } | undefined, expectedVersion)
    const feature = (saved!.rows[0] as { feature: IncidentFeature }).feature
    await hooks.postSave(feature, false)
    return feature
  }

  async function remove(id: number, expectedVersion?: number, actorId: number | null = null): Promise<IncidentFeature> {
    let write = db.deleteFrom('incidents').where('id', '=', id)
    if (expectedVersion !== undefined) write = write.where('version', '=', expectedVersion)
    // the shared geofence lock as for a change: without it an area save in
    // flight could open an alert for this incident that the delete never sees
    const [, current, deleted] = await pipelinedTransaction(db, [
      sharedLock,
      lockedVersion(id),
      incidentDeleteStatement(write.returning(SAVED_COLUMNS), actorId).compile(db),
    ])
    assertVersion('incident', id, current!.rows[0] as { version: number } | undefined, expectedVersion)
    const feature = (deleted!.rows[0] as { feature: IncidentFeature }).feature
    await hooks.postDelete(feature)
    return feature
  }

  /** Locks the row, waiting for a save in flight, so that the next statement reads what that save committed. */
  const lockedVersion = (id: number) => db.selectFrom('incidents').select('version').where('id', '=', id).forUpdate().compile()

  return { get, list, listRows, pageCursors, create, update, remove }
}
