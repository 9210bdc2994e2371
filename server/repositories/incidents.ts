import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { BBox, Point } from '../../contracts/geojson.ts'
import type { IncidentFeature } from '../../contracts/features.ts'
import type { NotificationBody } from '../../contracts/notifications.ts'
import type { Severity } from '../../contracts/severity.ts'
import { envelope, geomFromGeoJSON, intersects } from '../../db/postgis.ts'
import { selectIncidents, toIncidentFeature, toPage, type IncidentSelection } from './feature-rows.ts'
import { areasAlertedByIncident, newlyAlerted } from './alert-rule.ts'
import { lockGeofenceShared } from './geofence-lock.ts'
import { writeNotifications } from './outbox.ts'
import { NotFoundError, VersionConflictError } from './errors.ts'
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
  /** id of the last incident of the previous page */
  cursor?: number | undefined
  limit: number
}

export interface Page<T> {
  features: T[]
  nextCursor: number | null
}

export type IncidentRepository = ReturnType<typeof incidentRepository>

/** The only way incidents are created, changed and deleted. */
export function incidentRepository(db: Kysely<Database>, hooks: SaveHooks) {
  async function get(id: number): Promise<IncidentFeature> {
    const row = await selectIncidents(db).where('i.id', '=', id).executeTakeFirst()
    if (!row) throw new NotFoundError('incident', id)
    return toIncidentFeature(row as IncidentSelection)
  }

  async function list(filter: IncidentFilter): Promise<Page<IncidentFeature>> {
    let query = selectIncidents(db).orderBy('i.id').limit(filter.limit + 1)
    if (filter.bbox) query = query.where(intersects('i.location', envelope(filter.bbox)))
    if (filter.severity?.length) query = query.where('i.severity', 'in', filter.severity)
    if (filter.closed !== undefined) query = query.where('i.closed', '=', filter.closed)
    if (filter.since) query = query.where('i.updated', '>=', filter.since)
    if (filter.cursor !== undefined) query = query.where('i.id', '>', filter.cursor)
    return toPage((await query.execute()) as IncidentSelection[], filter.limit, toIncidentFeature)
  }

  async function create(input: IncidentInput, reporterId: number | null): Promise<IncidentFeature> {
    const feature = await db.transaction().execute(async (trx) => {
      await lockGeofenceShared(trx)
      const { id } = await trx
        .insertInto('incidents')
        .values({
          name: input.name,
          description: input.description ?? '',
          severity: input.severity,
          closed: input.closed,
          location: geomFromGeoJSON(input.geometry),
          reporter_id: reporterId,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      const saved = toIncidentFeature((await selectIncidents(trx).where('i.id', '=', id).executeTakeFirstOrThrow()) as IncidentSelection)
      const areas = await areasAlertedByIncident(trx, id)
      const bodies: NotificationBody[] = [{ type: 'post_save', created: true, feature: saved }]
      if (areas.length) bodies.push({ type: 'alert', feature: saved, areas_of_interest: areas })
      await writeNotifications(trx, bodies)
      return saved
    })
    await hooks.postSave(feature, true)
    return feature
  }

  async function update(id: number, changes: IncidentChanges, expectedVersion?: number): Promise<IncidentFeature> {
    const feature = await db.transaction().execute(async (trx) => {
      await lockGeofenceShared(trx)
      const current = await trx.selectFrom('incidents').select('version').where('id', '=', id).forUpdate().executeTakeFirst()
      if (!current) throw new NotFoundError('incident', id)
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new VersionConflictError('incident', id, expectedVersion, current.version)
      }
      const before = await areasAlertedByIncident(trx, id)
      await trx
        .updateTable('incidents')
        .set({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.description !== undefined && { description: changes.description }),
          ...(changes.severity !== undefined && { severity: changes.severity }),
          ...(changes.closed !== undefined && { closed: changes.closed }),
          ...(changes.geometry !== undefined && { location: geomFromGeoJSON(changes.geometry) }),
          updated: sql<Date>`now()`,
          version: sql<number>`version + 1`,
        })
        .where('id', '=', id)
        .execute()
      const saved = toIncidentFeature((await selectIncidents(trx).where('i.id', '=', id).executeTakeFirstOrThrow()) as IncidentSelection)
      const fresh = newlyAlerted(before, await areasAlertedByIncident(trx, id))
      const bodies: NotificationBody[] = [{ type: 'post_save', created: false, feature: saved }]
      if (fresh.length) bodies.push({ type: 'alert', feature: saved, areas_of_interest: fresh })
      await writeNotifications(trx, bodies)
      return saved
    })
    await hooks.postSave(feature, false)
    return feature
  }

  async function remove(id: number, expectedVersion?: number): Promise<IncidentFeature> {
    const feature = await db.transaction().execute(async (trx) => {
      const row = (await selectIncidents(trx).where('i.id', '=', id).forUpdate('i').executeTakeFirst()) as IncidentSelection | undefined
      if (!row) throw new NotFoundError('incident', id)
      if (expectedVersion !== undefined && expectedVersion !== row.version) {
        throw new VersionConflictError('incident', id, expectedVersion, row.version)
      }
      await trx.deleteFrom('incidents').where('id', '=', id).execute()
      const deleted = toIncidentFeature(row)
      await writeNotifications(trx, [{ type: 'post_delete', feature: deleted }])
      return deleted
    })
    await hooks.postDelete(feature)
    return feature
  }

  return { get, list, create, update, remove }
}
