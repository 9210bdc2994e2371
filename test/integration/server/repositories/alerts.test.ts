import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import pg from 'pg'
import type { Alert } from '../../../../contracts/alerts.ts'
import type { AreaFeature, IncidentFeature } from '../../../../contracts/features.ts'
import type { NotificationBody } from '../../../../contracts/live.ts'
import { BACKENDS, point, square, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// The life of an alert record (server/repositories/incident-save.ts,
// areas.ts, alerts.ts): which saves open one, which resolve one and why, and
// what each tells the live map, in the order it must come.

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe.each(BACKENDS)('alert records on %s', (backend) => {
  let server: TestServer
  let operator: TestUser

  beforeAll(async () => {
    server = await startTestServer(backend)
    operator = await server.user('operator')
  })
  afterAll(() => server?.close())

  beforeEach(async () => {
    await server.app.db.deleteFrom('incidents').execute()
    await server.app.db.deleteFrom('areas_of_interest').execute()
    await server.app.db.deleteFrom('alerts').execute()
    await server.newlyPublished()
  })

  const incidents = () => server.app.incidents
  const areas = () => server.app.areas
  /** the incident's alerts, newest first */
  const alertsOf = async (incident: IncidentFeature) => (await server.app.alerts.list({ incident: incident.properties.id, limit: 100 })).alerts
  const areaRef = (area: AreaFeature) => ({ id: area.properties.id, name: area.properties.name, severity: area.properties.severity, url: `/api/areas/${area.properties.id}` })
  const incidentRef = (incident: IncidentFeature) => ({
    id: incident.properties.id, name: incident.properties.name, severity: incident.properties.severity, closed: incident.properties.closed, url: `/api/incidents/${incident.properties.id}`,
  })
  const openAlert = (id: number, incident: IncidentFeature, area: AreaFeature): Alert => ({
    id, state: 'open', fired: expect.stringMatching(ISO_INSTANT), severity: incident.properties.severity,
    incident: incidentRef(incident), area: areaRef(area),
    acknowledged_by: null, acknowledged_at: null, note: null, resolved_at: null, resolved_reason: null,
  })
  /** what the saves since the previous call told the map about alerts */
  const alertNews = async () => (await server.newlyPublished()).filter((n) => n.type === 'alert' || n.type === 'alert_update')
  const firedFrames = (feature: IncidentFeature, area: AreaFeature, alert: Alert): NotificationBody[] => [
    { type: 'alert', feature, areas_of_interest: [{ ...areaRef(area), alert_id: alert.id }] },
    { type: 'alert_update', alert },
  ]

  it('opens an alert when an incident is reported inside an area at or above its threshold, and none below it', async () => {
    const area = await areas().create({ name: 'Harbour', severity: 'high', geometry: square(10, 10, 1) }, operator.id)
    await server.newlyPublished()
    const urgent = await incidents().create({ name: 'pier fire', severity: 'urgent', geometry: point(10.2, 10.1) }, operator.id)
    const [alert] = await alertsOf(urgent)
    expect(await alertsOf(urgent)).toEqual([openAlert(alert!.id, urgent, area)])
    expect(await server.app.alerts.get(alert!.id)).toEqual(alert)
    expect(await server.newlyPublished()).toEqual([{ type: 'post_save', created: true, feature: urgent }, ...firedFrames(urgent, area, alert!)])

    const medium = await incidents().create({ name: 'spilt paint', severity: 'medium', geometry: point(10.3, 10.1) }, operator.id)
    expect(await alertsOf(medium)).toEqual([])
    expect(await server.newlyPublished()).toEqual([{ type: 'post_save', created: true, feature: medium }])
  })

  it('opens an alert on a move into an area, resolves it as left_area on the move out, and opens a new one on the way back', async () => {
    const area = await areas().create({ name: 'Old town', severity: 'info', geometry: square(20, 20, 1) }, operator.id)
    const incident = await incidents().create({ name: 'roaming', severity: 'low', geometry: point(25, 20) }, operator.id)
    expect(await alertsOf(incident)).toEqual([])
    await server.newlyPublished()

    const inside = await incidents().update(incident.properties.id, { geometry: point(20.5, 20) }, 1, operator.id)
    const [first] = await alertsOf(inside)
    expect(first).toEqual(openAlert(first!.id, inside, area))
    expect(await alertNews()).toEqual(firedFrames(inside, area, first!))

    const outside = await incidents().update(incident.properties.id, { geometry: point(23, 20) }, 2, operator.id)
    const left: Alert = { ...first!, incident: incidentRef(outside), state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'left_area' }
    expect(await alertsOf(outside)).toEqual([left])
    expect(await server.newlyPublished()).toEqual([{ type: 'post_save', created: false, feature: outside }, { type: 'alert_update', alert: left }])

    const back = await incidents().update(incident.properties.id, { geometry: point(19.5, 20.5) }, 3, operator.id)
    const [again, old] = await alertsOf(back)
    expect(again!.id).toBeGreaterThan(first!.id)
    expect(again).toEqual(openAlert(again!.id, back, area))
    expect(old).toMatchObject({ id: first!.id, state: 'resolved', resolved_reason: 'left_area' })
    expect(await alertNews()).toEqual(firedFrames(back, area, again!))
  })

  it('opens an alert when the severity is raised past the threshold, and resolves it as below_threshold when it drops', async () => {
    const area = await areas().create({ name: 'Stadium', severity: 'high', geometry: square(30, 30, 1) }, operator.id)
    const incident = await incidents().create({ name: 'crowd', severity: 'medium', geometry: point(30, 30) }, operator.id)
    expect(await alertsOf(incident)).toEqual([])
    await server.newlyPublished()

    const raised = await incidents().update(incident.properties.id, { severity: 'high' }, 1, operator.id)
    const [alert] = await alertsOf(raised)
    expect(alert).toEqual(openAlert(alert!.id, raised, area))
    expect(alert!.severity).toBe('high')
    expect(await alertNews()).toEqual(firedFrames(raised, area, alert!))

    const dropped = await incidents().update(incident.properties.id, { severity: 'low' }, 2, operator.id)
    const resolved: Alert = { ...alert!, incident: incidentRef(dropped), state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'below_threshold' }
    expect(await alertsOf(dropped)).toEqual([resolved])
    expect(await alertNews()).toEqual([{ type: 'alert_update', alert: resolved }])
  })

  it('resolves the alert as incident_closed when the incident closes, and opens a new one when it is reopened', async () => {
    const area = await areas().create({ name: 'Station', severity: 'medium', geometry: square(40, 40, 1) }, operator.id)
    const incident = await incidents().create({ name: 'smoke', severity: 'high', geometry: point(40, 40) }, operator.id)
    const [first] = await alertsOf(incident)
    await server.newlyPublished()

    const closed = await incidents().update(incident.properties.id, { closed: true }, 1, operator.id)
    const resolved: Alert = { ...first!, incident: incidentRef(closed), state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'incident_closed' }
    expect(resolved.incident!.closed).toBe(true)
    expect(await alertsOf(closed)).toEqual([resolved])
    expect(await alertNews()).toEqual([{ type: 'alert_update', alert: resolved }])

    const reopened = await incidents().update(incident.properties.id, { closed: false }, 2, operator.id)
    const [again, old] = await alertsOf(reopened)
    expect(again!.id).not.toBe(first!.id)
    expect(again).toEqual(openAlert(again!.id, reopened, area))
    expect(old).toMatchObject({ id: first!.id, state: 'resolved', resolved_reason: 'incident_closed' })
    expect(await alertNews()).toEqual(firedFrames(reopened, area, again!))
  })

  it('resolves the alerts of a deleted incident as incident_deleted, and then shows no incident', async () => {
    const area = await areas().create({ name: 'Market', severity: 'low', geometry: square(50, 50, 1) }, operator.id)
    const incident = await incidents().create({ name: 'theft', severity: 'low', geometry: point(50, 50) }, operator.id)
    const [alert] = await alertsOf(incident)
    await server.newlyPublished()

    await incidents().remove(incident.properties.id, 1, operator.id)
    const resolved: Alert = { ...alert!, incident: null, state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'incident_deleted' }
    expect(await server.app.alerts.get(alert!.id)).toEqual(resolved)
    expect(resolved.area).toEqual(areaRef(area))
    expect(await alertNews()).toEqual([{ type: 'alert_update', alert: resolved }])
  })

  it('fires nothing and resolves nothing for edits that leave the alerted areas as they were', async () => {
    const area = await areas().create({ name: 'Park', severity: 'medium', geometry: square(60, 60, 1) }, operator.id)
    const incident = await incidents().create({ name: 'fallen tree', severity: 'medium', geometry: point(60, 60) }, operator.id)
    const [alert] = await alertsOf(incident)
    await server.app.alerts.acknowledge(alert!.id, operator, 'on it')
    await server.newlyPublished()

    // renamed, described, moved within the area, raised further, lowered back to the threshold
    let saved = await incidents().update(incident.properties.id, { name: 'two fallen trees', description: 'blocking the path' }, 1, operator.id)
    saved = await incidents().update(incident.properties.id, { geometry: point(60.7, 59.6) }, 2, operator.id)
    saved = await incidents().update(incident.properties.id, { severity: 'urgent' }, 3, operator.id)
    saved = await incidents().update(incident.properties.id, { severity: 'medium' }, 4, operator.id)
    expect(await alertNews()).toEqual([])
    const alerts = await alertsOf(saved)
    expect(alerts).toEqual([{
      ...openAlert(alert!.id, saved, area),
      state: 'acknowledged', acknowledged_by: { id: operator.id, username: operator.username }, acknowledged_at: expect.stringMatching(ISO_INSTANT), note: 'on it',
    }])
    expect(alerts[0]!.incident!.name).toBe('two fallen trees')
  })

  it('opens an alert when an area is created around an open incident at or above its threshold, and none for closed or lesser ones', async () => {
    const open = await incidents().create({ name: 'flood', severity: 'high', geometry: point(70, 10) }, operator.id)
    const closed = await incidents().create({ name: 'old flood', severity: 'high', closed: true, geometry: point(70.1, 10) }, operator.id)
    const lesser = await incidents().create({ name: 'puddle', severity: 'low', geometry: point(70.2, 10) }, operator.id)
    await server.newlyPublished()

    const area = await areas().create({ name: 'Riverside', severity: 'medium', geometry: square(70, 10, 1) }, operator.id)
    const [alert] = await alertsOf(open)
    expect(alert).toEqual(openAlert(alert!.id, open, area))
    expect(await alertsOf(closed)).toEqual([])
    expect(await alertsOf(lesser)).toEqual([])
    expect(await server.newlyPublished()).toEqual([{ type: 'post_save', created: true, feature: area }, ...firedFrames(open, area, alert!)])
  })

  it('opens an alert when an area is redrawn around an open incident, and resolves it as left_area when redrawn away from it', async () => {
    const area = await areas().create({ name: 'Quay', severity: 'low', geometry: square(80, 10, 1) }, operator.id)
    const incident = await incidents().create({ name: 'oil slick', severity: 'medium', geometry: point(83, 10) }, operator.id)
    expect(await alertsOf(incident)).toEqual([])
    await server.newlyPublished()

    const around = await areas().update(area.properties.id, { geometry: square(82.5, 10, 1) }, 1, operator.id)
    const [alert] = await alertsOf(incident)
    expect(alert).toEqual(openAlert(alert!.id, incident, around))
    expect(await server.newlyPublished()).toEqual([{ type: 'post_save', created: false, feature: around }, ...firedFrames(incident, around, alert!)])

    const away = await areas().update(area.properties.id, { geometry: square(80, 10, 1) }, 2, operator.id)
    const resolved: Alert = { ...alert!, state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'left_area' }
    expect(await alertsOf(incident)).toEqual([resolved])
    expect(await server.newlyPublished()).toEqual([{ type: 'post_save', created: false, feature: away }, { type: 'alert_update', alert: resolved }])
  })

  it("resolves the alert as below_threshold when the area's threshold is raised above the incident, and opens a new one when lowered again", async () => {
    const area = await areas().create({ name: 'School', severity: 'medium', geometry: square(90, 10, 1) }, operator.id)
    const incident = await incidents().create({ name: 'gas smell', severity: 'medium', geometry: point(90, 10) }, operator.id)
    const [alert] = await alertsOf(incident)
    await server.newlyPublished()

    const raised = await areas().update(area.properties.id, { severity: 'urgent' }, 1, operator.id)
    const resolved: Alert = { ...alert!, area: areaRef(raised), state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'below_threshold' }
    expect(await alertsOf(incident)).toEqual([resolved])
    expect(await alertNews()).toEqual([{ type: 'alert_update', alert: resolved }])

    const lowered = await areas().update(area.properties.id, { severity: 'low' }, 2, operator.id)
    const [again] = await alertsOf(incident)
    expect(again!.id).toBeGreaterThan(alert!.id)
    expect(again).toEqual(openAlert(again!.id, incident, lowered))
    expect(await alertNews()).toEqual(firedFrames(incident, lowered, again!))
  })

  it('resolves the alerts of a deleted area as area_deleted, showing the area as it was when deleted', async () => {
    const area = await areas().create({ name: 'Depot', severity: 'low', geometry: square(100, 10, 1) }, operator.id)
    const incident = await incidents().create({ name: 'leak', severity: 'high', geometry: point(100, 10) }, operator.id)
    const [alert] = await alertsOf(incident)
    const renamed = await areas().update(area.properties.id, { name: 'North depot', severity: 'medium' }, 1, operator.id)
    await server.newlyPublished()

    await areas().remove(area.properties.id, 2, operator.id)
    const resolved: Alert = {
      ...alert!, area: { id: area.properties.id, name: 'North depot', severity: 'medium', url: `/api/areas/${area.properties.id}` },
      state: 'resolved', resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'area_deleted',
    }
    expect(await server.app.alerts.get(alert!.id)).toEqual(resolved)
    expect(await server.newlyPublished()).toEqual([{ type: 'post_delete', feature: renamed }, { type: 'alert_update', alert: resolved }])
  })

  it('keeps who acknowledged an alert and their note once it is resolved', async () => {
    await areas().create({ name: 'Bridge', severity: 'info', geometry: square(110, 10, 1) }, operator.id)
    const incident = await incidents().create({ name: 'crash', severity: 'high', geometry: point(110, 10) }, operator.id)
    const [alert] = await alertsOf(incident)
    const acknowledged = await server.app.alerts.acknowledge(alert!.id, operator, 'ambulance sent')
    await incidents().update(incident.properties.id, { closed: true }, 1, operator.id)
    expect(await server.app.alerts.get(alert!.id)).toEqual({
      ...acknowledged, incident: { ...acknowledged.incident!, closed: true }, state: 'resolved',
      resolved_at: expect.stringMatching(ISO_INSTANT), resolved_reason: 'incident_closed',
    })
    expect(acknowledged).toMatchObject({ acknowledged_by: { id: operator.id, username: operator.username }, note: 'ambulance sent' })
  })
})

describe('alert records of saves racing one another on postgres', () => {
  let server: TestServer
  let operator: TestUser

  beforeAll(async () => {
    server = await startTestServer('postgres')
    operator = await server.user('operator')
  })
  afterAll(() => server?.close())

  const waiting = async () =>
    // in this test's database only: other test files share the PostgreSQL server
    Number((await sql<{ n: number }>`SELECT count(*)::integer AS n FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
      WHERE NOT l.granted AND a.datname = current_database()`.execute(server.app.db)).rows[0]!.n)

  it('resolves the alert an area save in flight opened for an incident deleted meanwhile', async () => {
    const incident = await server.app.incidents.create({ name: 'fading', severity: 'high', geometry: point(5, 5) }, operator.id)
    // holds the area's save after it has opened the alert, before it commits: its notifications wait for the outbox
    const holder = new pg.Client({ connectionString: server.env.DATABASE_URL })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query('LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE')
      const areaSave = server.app.areas.create({ name: 'Late zone', severity: 'low', geometry: square(5, 5, 1) }, operator.id)
      await waitUntil(async () => (await waiting()) === 1, { what: 'the area save to wait for the outbox' })
      const deletion = server.app.incidents.remove(incident.properties.id, 1, operator.id)
      await waitUntil(async () => (await waiting()) === 2, { what: 'the delete to wait too' })
      await holder.query('COMMIT')
      await Promise.all([areaSave, deletion])
    } finally {
      await holder.end()
    }
    const { alerts } = await server.app.alerts.list({ incident: incident.properties.id, limit: 10 })
    expect(alerts.map((a) => [a.state, a.resolved_reason, a.incident])).toEqual([['resolved', 'incident_deleted', null]])
  })
})
