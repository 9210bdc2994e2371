import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { AreaGeometry, BBox } from '../../contracts/geojson.ts'
import type { AreaFeature } from '../../contracts/features.ts'
import type { NotificationBody } from '../../contracts/live.ts'
import type { Severity } from '../../contracts/severity.ts'
import { covers, envelope, geomFromGeoJSON, intersects } from '../../db/postgis.ts'
import { areaUrl, selectAreas, toAreaFeature, toIncidentFeature, toPage, type AreaSelection, type Page } from './feature-rows.ts'
import { alertRule, incidentIdsAlertingArea, incidentsAlertingArea } from './alert-rule.ts'
import { lockGeofenceExclusive } from './geofence-lock.ts'
import { writeNotifications } from './outbox.ts'
import { InvalidFieldError, NotFoundError } from '../errors.ts'
import { assertValidAreaGeometry } from './area-geometry.ts'
import { assertVersion } from './version-check.ts'
import type { SaveHooks } from './hooks.ts'
import { alertsByIds } from './alerts.ts'
import { actorOf, recordHistory, type HistoryInsert } from './history.ts'
import type { ResolveReason } from '../../contracts/alerts.ts'
import type { FieldChange } from '../../contracts/history.ts'

export interface AreaInput {
  name: string
  severity?: Severity | undefined
  geometry: AreaGeometry
  escalate_after_minutes?: number | null | undefined
  /** a list left out: empty on create, kept on update */
  escalation_contacts?: { users?: number[] | undefined; webhooks?: number[] | undefined } | undefined
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
    await assertValidAreaGeometry(db, input.geometry)
    const area = await db.transaction().execute(async (trx) => {
      await lockGeofenceExclusive(trx)
      await assertContactsExist(trx, input.escalation_contacts)
      const { id } = await trx
        .insertInto('areas_of_interest')
        .values({
          name: input.name,
          severity: input.severity,
          polygon: geomFromGeoJSON(input.geometry),
          owner_id: ownerId,
          updated_by_id: ownerId,
          escalate_after_minutes: input.escalate_after_minutes ?? null,
          escalation_user_ids: input.escalation_contacts?.users ?? [],
          escalation_webhook_ids: input.escalation_contacts?.webhooks ?? [],
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      const area = await selectSaved(trx, id)
      const actor = await actorOf(trx, ownerId)
      const alerts = await reconcileAlerts(trx, area, new Set(), actor)
      await writeNotifications(trx, [{ type: 'post_save', created: true, feature: area }, ...alerts.notifications])
      await recordHistory(trx, [
        { subject_kind: 'area', subject_id: id, action: 'created', actor, changes: fieldsOf(area, 'after') },
        ...alerts.history,
      ])
      return area
    })
    await hooks.postSave(area, true)
    return area
  }

  async function update(id: number, changes: AreaChanges, expectedVersion?: number, actorId: number | null = null): Promise<AreaFeature> {
    if (changes.geometry) await assertValidAreaGeometry(db, changes.geometry)
    const area = await db.transaction().execute(async (trx) => {
      await lockGeofenceExclusive(trx)
      const current = await trx.selectFrom('areas_of_interest').select('version').where('id', '=', id).forUpdate().executeTakeFirst()
      assertVersion('area', id, current, expectedVersion)
      await assertContactsExist(trx, changes.escalation_contacts)
      const was = await selectSaved(trx, id)
      const before = await incidentIdsAlertingArea(trx, id)
      await trx
        .updateTable('areas_of_interest')
        .set({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.severity !== undefined && { severity: changes.severity }),
          ...(changes.geometry !== undefined && { polygon: geomFromGeoJSON(changes.geometry) }),
          ...(changes.escalate_after_minutes !== undefined && { escalate_after_minutes: changes.escalate_after_minutes }),
          ...(changes.escalation_contacts?.users !== undefined && { escalation_user_ids: changes.escalation_contacts.users }),
          ...(changes.escalation_contacts?.webhooks !== undefined && { escalation_webhook_ids: changes.escalation_contacts.webhooks }),
          updated: sql<Date>`now()`,
          updated_by_id: actorId,
          version: sql<number>`version + 1`,
        })
        .where('id', '=', id)
        .execute()
      const area = await selectSaved(trx, id)
      const actor = await actorOf(trx, actorId)
      const alerts = await reconcileAlerts(trx, area, before, actor)
      await writeNotifications(trx, [{ type: 'post_save', created: false, feature: area }, ...alerts.notifications])
      await recordHistory(trx, [...changesOf(was, area, actor), ...alerts.history])
      return area
    })
    await hooks.postSave(area, false)
    return area
  }

  async function remove(id: number, expectedVersion?: number, actorId: number | null = null): Promise<AreaFeature> {
    const area = await db.transaction().execute(async (trx) => {
      await lockGeofenceExclusive(trx)
      const row = (await selectAreas(trx).where('a.id', '=', id).forUpdate('a').executeTakeFirst()) as AreaSelection | undefined
      assertVersion('area', id, row, expectedVersion)
      const deleted = toAreaFeature(row)
      const actor = await actorOf(trx, actorId)
      // every alert of the area keeps it as it was, and those standing are resolved
      await trx.updateTable('alerts').set({ area_name: row.name, area_severity: row.severity }).where('area_id', '=', id).execute()
      const resolved = await trx
        .updateTable('alerts')
        .set({ state: 'resolved', resolved_at: sql<Date>`now()`, resolved_reason: 'area_deleted' })
        .where('area_id', '=', id)
        .where('state', '<>', 'resolved')
        .returning(['id', 'incident_id', 'acknowledged_at'])
        .execute()
      await trx.deleteFrom('areas_of_interest').where('id', '=', id).execute()
      const updates = await alertsByIds(trx, resolved.map((r) => r.id))
      await writeNotifications(trx, [{ type: 'post_delete', feature: deleted }, ...updates.map((alert) => ({ type: 'alert_update' as const, alert }))])
      await recordHistory(trx, [
        { subject_kind: 'area', subject_id: id, action: 'deleted', actor, changes: fieldsOf(deleted, 'before') },
        ...resolved.map((r) => resolvedEntry(r, 'area_deleted', { id, name: row.name }, actor)),
      ])
      return deleted
    })
    await hooks.postDelete(area)
    return area
  }

  return { get, list, create, update, remove }
}

/**
 * Refuses an escalation contact that is not there to reach, naming the first
 * one: a user id with no user, or a user without an email address (escalation
 * mail would go nowhere), a webhook id with no webhook. Checked in the save's
 * transaction; a contact deleted later is skipped when the alert escalates.
 */
async function assertContactsExist(trx: Transaction<Database>, contacts: AreaInput['escalation_contacts']): Promise<void> {
  const users = contacts?.users ?? []
  if (users.length > 0) {
    const found = new Map((await trx.selectFrom('users').select(['id', 'email']).where('id', 'in', users).execute()).map((u) => [u.id, u.email]))
    users.forEach((id, i) => {
      const field = `/properties/escalation_contacts/users/${i}`
      if (!found.has(id)) throw new InvalidFieldError(field, id, `escalation_contacts.users[${i}]: there is no user ${id}`)
      if (!found.get(id)) throw new InvalidFieldError(field, id, `escalation_contacts.users[${i}]: user ${id} has no email address to escalate to (an admin sets it)`)
    })
  }
  const webhooks = contacts?.webhooks ?? []
  if (webhooks.length > 0) {
    const found = new Set((await trx.selectFrom('webhooks').select('id').where('id', 'in', webhooks).execute()).map((w) => w.id))
    webhooks.forEach((id, i) => {
      if (!found.has(id)) throw new InvalidFieldError(`/properties/escalation_contacts/webhooks/${i}`, id, `escalation_contacts.webhooks[${i}]: there is no webhook ${id}`)
    })
  }
}

async function selectSaved(trx: Transaction<Database>, id: number): Promise<AreaFeature> {
  return toAreaFeature((await selectAreas(trx).where('a.id', '=', id).executeTakeFirstOrThrow()) as AreaSelection)
}

/**
 * The alert records of an area after it was created or changed: one opened
 * for each open incident newly alerting it (not among `before`), and each
 * standing alert of an incident that no longer does resolved. Returns the
 * notifications (an `alert` per incident, then an `alert_update` per alert
 * opened and per alert resolved) and the history entries (on the incidents).
 */
async function reconcileAlerts(trx: Transaction<Database>, area: AreaFeature, before: Set<number>, actor: HistoryInsert['actor']) {
  const { id, name, severity } = area.properties
  const ref = { id, name, severity, url: areaUrl(id) }
  const incidents = await incidentsAlertingArea(trx, id)
  const newly = incidents.filter((incident) => !before.has(incident.id))
  const fired = newly.length === 0 ? [] : await trx
    .insertInto('alerts')
    .values(newly.map((incident) => ({ incident_id: incident.id, area_id: id, area_name: name, area_severity: severity, severity: incident.severity })))
    .returning(['id', 'incident_id'])
    .execute()
  const alertOf = new Map(fired.map((f) => [f.incident_id, f.id]))
  const resolved = await trx
    .updateTable('alerts as al')
    .set({
      state: 'resolved',
      resolved_at: sql<Date>`now()`,
      // the area changed, not the incident: it was redrawn away from it, or its threshold raised above it
      resolved_reason: sql<ResolveReason>`CASE WHEN EXISTS (
        SELECT 1 FROM incidents AS i JOIN areas_of_interest AS a ON a.id = al.area_id WHERE i.id = al.incident_id AND ${covers('a.polygon', 'i.location')}
      ) THEN 'below_threshold' ELSE 'left_area' END`,
    })
    .where('al.area_id', '=', id)
    .where('al.state', '<>', 'resolved')
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('incidents as i').innerJoin('areas_of_interest as a', (join) => join.on(alertRule('i', 'a'))).select('i.id')
        .whereRef('i.id', '=', 'al.incident_id').whereRef('a.id', '=', 'al.area_id'))))
    .returning(['al.id', 'al.incident_id', 'al.acknowledged_at', 'al.resolved_reason'])
    .execute()
  const updates = await alertsByIds(trx, [...fired.map((f) => f.id), ...resolved.map((r) => r.id)])
  const notifications: NotificationBody[] = [
    ...newly.map((incident) => ({ type: 'alert' as const, feature: toIncidentFeature(incident), areas_of_interest: [{ ...ref, alert_id: alertOf.get(incident.id)! }] })),
    ...updates.map((alert) => ({ type: 'alert_update' as const, alert })),
  ]
  const history: HistoryInsert[] = [
    ...fired.map((f) => ({
      subject_kind: 'incident' as const, subject_id: f.incident_id, action: 'alert_fired' as const, actor,
      changes: { state: { before: null, after: 'open' } }, alert: { id: f.id, area_id: id, area_name: name },
    })),
    ...resolved.map((r) => resolvedEntry(r, r.resolved_reason!, { id, name }, actor)),
  ]
  return { notifications, history }
}

function resolvedEntry(
  alert: { id: number; incident_id: number; acknowledged_at: Date | null },
  reason: ResolveReason,
  area: { id: number; name: string },
  actor: HistoryInsert['actor'],
): HistoryInsert {
  return {
    subject_kind: 'incident', subject_id: alert.incident_id, action: 'alert_resolved', actor,
    changes: { state: { before: alert.acknowledged_at ? 'acknowledged' : 'open', after: 'resolved' }, reason: { before: null, after: reason } },
    alert: { id: alert.id, area_id: area.id, area_name: area.name },
  }
}

/** What an area's history shows of it: its fields and its extent, and its escalation where it has one. */
function fieldsOf(area: AreaFeature, side: 'before' | 'after'): Record<string, FieldChange> {
  const { name, severity, escalate_after_minutes, escalation_contacts } = area.properties
  const escalates = escalate_after_minutes !== null || escalation_contacts.users.length > 0 || escalation_contacts.webhooks.length > 0
  const values = { name, severity, bbox: bboxOf(area.geometry), ...(escalates && { escalate_after_minutes, escalation_contacts }) }
  return Object.fromEntries(Object.entries(values).map(([field, value]) => [field, side === 'before' ? { before: value, after: null } : { before: null, after: value }]))
}

/** The history entries of an area's change: `edited` for its name, threshold and escalation, `redrawn` for its shape. */
function changesOf(was: AreaFeature, now: AreaFeature, actor: HistoryInsert['actor']): HistoryInsert[] {
  const edits: Record<string, FieldChange> = {}
  for (const field of ['name', 'severity', 'escalate_after_minutes', 'escalation_contacts'] as const) {
    if (JSON.stringify(was.properties[field]) !== JSON.stringify(now.properties[field])) edits[field] = { before: was.properties[field], after: now.properties[field] }
  }
  const entries: HistoryInsert[] = []
  const subject = { subject_kind: 'area' as const, subject_id: now.properties.id, actor }
  if (Object.keys(edits).length) entries.push({ ...subject, action: 'edited', changes: edits })
  if (JSON.stringify(was.geometry) !== JSON.stringify(now.geometry)) {
    entries.push({ ...subject, action: 'redrawn', changes: { bbox: { before: bboxOf(was.geometry), after: bboxOf(now.geometry) } } })
  }
  return entries
}

function bboxOf(geometry: AreaGeometry): BBox {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates
  let [minLon, minLat, maxLon, maxLat] = [Infinity, Infinity, -Infinity, -Infinity]
  for (const polygon of polygons) {
    for (const [lon, lat] of polygon[0]!) {
      minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon)
      minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat)
    }
  }
  return [minLon, minLat, maxLon, maxLat]
}
