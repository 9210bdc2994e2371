import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { findUnclosedRing, findWideRing, type AreaGeometry, type BBox } from '../../contracts/geojson.ts'
import type { AreaFeature } from '../../contracts/features.ts'
import type { NotificationBody } from '../../contracts/live.ts'
import type { Severity } from '../../contracts/severity.ts'
import { envelope, geomFromGeoJSON, intersects, validityReason } from '../../db/postgis.ts'
import { areaUrl, selectAreas, toAreaFeature, toIncidentFeature, toPage, type AreaSelection, type Page } from './feature-rows.ts'
import { incidentIdsAlertingArea, incidentsAlertingArea } from './alert-rule.ts'
import { lockGeofenceExclusive } from './geofence-lock.ts'
import { writeNotifications } from './outbox.ts'
import { InvalidFieldError, NotFoundError } from '../errors.ts'
import { assertVersion } from './version-check.ts'
import type { SaveHooks } from './hooks.ts'

export interface AreaInput {
  name: string
  severity?: Severity | undefined
  geometry: AreaGeometry
}

export type AreaChanges = Partial<AreaInput>

export interface AreaFilter {
  bbox?: BBox | undefined
  severity?: Severity[] | undefined
  cursor?: number | undefined
  limit: number
}

export type AreaRepository = ReturnType<typeof areaRepository>

/** The only way areas of interest are created, changed and deleted. */
export function areaRepository(db: Kysely<Database>, hooks: SaveHooks) {
  async function get(id: number): Promise<AreaFeature> {
    const row = await selectAreas(db).where('a.id', '=', id).executeTakeFirst()
    if (!row) throw new NotFoundError('area', id)
    return toAreaFeature(row as AreaSelection)
  }

  async function list(filter: AreaFilter): Promise<Page<AreaFeature>> {
    let query = selectAreas(db).orderBy('a.id').limit(filter.limit + 1)
    if (filter.bbox) query = query.where(intersects('a.polygon', envelope(filter.bbox)))
    if (filter.severity?.length) query = query.where('a.severity', 'in', filter.severity)
    if (filter.cursor !== undefined) query = query.where('a.id', '>', filter.cursor)
    return toPage((await query.execute()) as AreaSelection[], filter.limit, toAreaFeature)
  }

  async function create(input: AreaInput, ownerId: number | null): Promise<AreaFeature> {
    await assertValidGeometry(input.geometry)
    const area = await db.transaction().execute(async (trx) => {
      await lockGeofenceExclusive(trx)
      const { id } = await trx
        .insertInto('areas_of_interest')
        .values({ name: input.name, severity: input.severity, polygon: geomFromGeoJSON(input.geometry), owner_id: ownerId })
        .returning('id')
        .executeTakeFirstOrThrow()
      const area = await selectSaved(trx, id)
      await writeNotifications(trx, [{ type: 'post_save', created: true, feature: area }, ...(await alertsFor(trx, area, new Set()))])
      return area
    })
    await hooks.postSave(area, true)
    return area
  }

  async function update(id: number, changes: AreaChanges, expectedVersion?: number): Promise<AreaFeature> {
    if (changes.geometry) await assertValidGeometry(changes.geometry)
    const area = await db.transaction().execute(async (trx) => {
      await lockGeofenceExclusive(trx)
      const current = await trx.selectFrom('areas_of_interest').select('version').where('id', '=', id).forUpdate().executeTakeFirst()
      assertVersion('area', id, current, expectedVersion)
      const before = await incidentIdsAlertingArea(trx, id)
      await trx
        .updateTable('areas_of_interest')
        .set({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.severity !== undefined && { severity: changes.severity }),
          ...(changes.geometry !== undefined && { polygon: geomFromGeoJSON(changes.geometry) }),
          updated: sql<Date>`now()`,
          version: sql<number>`version + 1`,
        })
        .where('id', '=', id)
        .execute()
      const area = await selectSaved(trx, id)
      await writeNotifications(trx, [{ type: 'post_save', created: false, feature: area }, ...(await alertsFor(trx, area, before))])
      return area
    })
    await hooks.postSave(area, false)
    return area
  }

  async function remove(id: number, expectedVersion?: number): Promise<AreaFeature> {
    const area = await db.transaction().execute(async (trx) => {
      await lockGeofenceExclusive(trx)
      const row = (await selectAreas(trx).where('a.id', '=', id).forUpdate('a').executeTakeFirst()) as AreaSelection | undefined
      assertVersion('area', id, row, expectedVersion)
      await trx.deleteFrom('areas_of_interest').where('id', '=', id).execute()
      const deleted = toAreaFeature(row)
      await writeNotifications(trx, [{ type: 'post_delete', feature: deleted }])
      return deleted
    })
    await hooks.postDelete(area)
    return area
  }

  /** Refuses an unclosed ring, a ring wider than 180° of longitude or an invalid polygon, naming PostGIS's reason, before anything is written. */
  async function assertValidGeometry(geometry: AreaGeometry): Promise<void> {
    const unclosed = findUnclosedRing(geometry)
    if (unclosed) {
      throw new InvalidFieldError(
        `/geometry${unclosed.path}`,
        unclosed.last,
        `geometry ring ${unclosed.path} is not closed: it starts at [${unclosed.first}] but ends at [${unclosed.last}]`,
      )
    }
    const wide = findWideRing(geometry)
    if (wide) {
      throw new InvalidFieldError(
        `/geometry${wide.path}`,
        wide.span,
        `geometry ring ${wide.path} spans ${wide.span}° of longitude (from ${wide.west} to ${wide.east}), more than 180°: ` +
          'if the area crosses the antimeridian, cut it at ±180 into a MultiPolygon, as RFC 7946 §3.1.9 asks',
      )
    }
    const { reason } = await db
      .selectNoFrom(validityReason(geomFromGeoJSON(geometry)).as('reason'))
      .executeTakeFirstOrThrow()
    if (reason !== 'Valid Geometry') {
      throw new InvalidFieldError('/geometry', geometry.type, `geometry is not a valid ${geometry.type}: ${reason}`)
    }
  }

  return { get, list, create, update, remove }
}

async function selectSaved(trx: Transaction<Database>, id: number): Promise<AreaFeature> {
  return toAreaFeature((await selectAreas(trx).where('a.id', '=', id).executeTakeFirstOrThrow()) as AreaSelection)
}

/** One alert per open incident newly inside the area (not among `before`). */
async function alertsFor(trx: Transaction<Database>, area: AreaFeature, before: Set<number>): Promise<NotificationBody[]> {
  const { id, name, severity } = area.properties
  const ref = { id, name, severity, url: areaUrl(id) }
  const incidents = await incidentsAlertingArea(trx, id)
  return incidents
    .filter((incident) => !before.has(incident.id))
    .map((incident) => ({ type: 'alert', feature: toIncidentFeature(incident), areas_of_interest: [ref] }))
}
