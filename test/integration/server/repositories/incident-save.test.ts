import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectIncidents, toIncidentFeature, type IncidentSelection } from '../../../../server/repositories/feature-rows.ts'
import { BACKENDS, point, square, startTestServer, type TestServer } from '../../../helpers/test-server.ts'

// A save is one statement sent in one round trip with its lock and its
// commit (server/repositories/incident-save.ts, db/pipeline.ts): PostgreSQL
// builds the feature and the outbox rows there, so they must be exactly what
// the rest of the app builds, and a save that fails must leave nothing.

describe.each(BACKENDS)('incident saves on %s', (backend) => {
  let server: TestServer
  let reporter: { id: number; username: string }

  beforeAll(async () => {
    server = await startTestServer(backend)
    reporter = await server.admin()
  })
  afterAll(() => server?.close())


  /** The incident as toIncidentFeature() describes it to lists and GETs. */
  const described = async (id: number) =>
    toIncidentFeature((await selectIncidents(server.app.db).where('i.id', '=', id).executeTakeFirstOrThrow()) as IncidentSelection)

  it('returns and writes to the outbox the very feature that a GET describes', async () => {
    const area = await server.app.areas.create({ name: 'Harbour "quoted" \\ area', severity: 'low', geometry: square(3, 4, 1) }, reporter.id)
    await server.newlyPublished()
    const saved = await server.app.incidents.create(
      { name: 'Pier fire — ünïcode, "quotes"', description: 'a\nb', severity: 'high', geometry: point(3.123456789, 4.000000001) },
      reporter.id,
    )
    const feature = await described(saved.properties.id)
    expect(saved).toEqual(feature)
    expect(saved.properties.reporter).toBe(reporter.username)
    expect(saved.properties.updated_by).toBe(reporter.username)
    // the alert record the save opened, as GET /api/alerts/:id describes it
    const { alerts: [opened] } = await server.app.alerts.list({ incident: saved.properties.id, limit: 10 })
    expect(opened).toMatchObject({ state: 'open', severity: 'high', incident: { id: saved.properties.id }, area: { id: area.properties.id } })
    expect(await server.newlyPublished()).toEqual([
      { type: 'post_save', created: true, feature },
      {
        type: 'alert',
        feature,
        areas_of_interest: [{ id: area.properties.id, name: 'Harbour "quoted" \\ area', severity: 'low', url: `/api/areas/${area.properties.id}`, alert_id: opened!.id }],
      },
      { type: 'alert_update', alert: await server.app.alerts.get(opened!.id) },
    ])
  })

  it('describes a change and a delete the same way, and alerts only the newly entered area', async () => {
    const first = await server.app.areas.create({ name: 'first', severity: 'info', geometry: square(30, 30, 1) }, reporter.id)
    const second = await server.app.areas.create({ name: 'second', severity: 'info', geometry: square(31, 30, 0.5) }, reporter.id)
    await server.newlyPublished()
    const created = await server.app.incidents.create({ name: 'moving', geometry: point(29.5, 30) }, reporter.id)
    // saved inside the first area only: it alerts that one, and opens its alert
    const { alerts: [inFirst] } = await server.app.alerts.list({ incident: created.properties.id, limit: 10 })
    expect(await server.newlyPublished()).toEqual([
      { type: 'post_save', created: true, feature: created },
      { type: 'alert', feature: created, areas_of_interest: [expect.objectContaining({ id: first.properties.id, name: 'first', alert_id: inFirst!.id })] },
      { type: 'alert_update', alert: await server.app.alerts.get(inFirst!.id) },
    ])

    const moved = await server.app.incidents.update(created.properties.id, { geometry: point(30.8, 30) }, 1)
    const feature = await described(created.properties.id)
    expect(moved).toEqual(feature)
    expect(feature.properties.version).toBe(2)
    const { alerts: [entered] } = await server.app.alerts.list({ incident: created.properties.id, area: second.properties.id, limit: 10 })
    expect(await server.newlyPublished()).toEqual([
      { type: 'post_save', created: false, feature },
      // still inside the first area, now inside the second too: only the second is news
      { type: 'alert', feature, areas_of_interest: [expect.objectContaining({ id: second.properties.id, name: 'second', alert_id: entered!.id })] },
      { type: 'alert_update', alert: await server.app.alerts.get(entered!.id) },
    ])

    const deleted = await server.app.incidents.remove(created.properties.id, 2)
    expect(deleted).toEqual(feature)
    // its standing alerts (the first area's since it was reported, the second's since the move) are resolved with it
    const { alerts: standing } = await server.app.alerts.list({ incident: created.properties.id, limit: 10 })
    expect(standing.map((a) => [a.area.id, a.state, a.resolved_reason, a.incident])).toEqual([
      [second.properties.id, 'resolved', 'incident_deleted', null],
      [first.properties.id, 'resolved', 'incident_deleted', null],
    ])
    expect(await server.newlyPublished()).toEqual([
      { type: 'post_delete', feature },
      ...standing.reverse().map((alert) => ({ type: 'alert_update', alert })),
    ])
  })

  it('writes nothing for a stale version or a missing incident, and names the version it found', async () => {
    const created = await server.app.incidents.create({ name: 'versioned', geometry: point(50, 50) }, reporter.id)
    await server.newlyPublished()
    await expect(server.app.incidents.update(created.properties.id, { name: 'stale' }, 7)).rejects.toMatchObject({ statusCode: 409, actual: 1 })
    await expect(server.app.incidents.remove(created.properties.id, 7)).rejects.toMatchObject({ statusCode: 409, actual: 1 })
    await expect(server.app.incidents.update(999_999, { name: 'nobody' })).rejects.toMatchObject({ statusCode: 404 })
    await expect(server.app.incidents.remove(999_999)).rejects.toMatchObject({ statusCode: 404 })
    expect(await server.newlyPublished()).toEqual([])
    expect(await described(created.properties.id)).toMatchObject({ properties: { name: 'versioned', version: 1 } })
  })

  it('leaves nothing behind when a statement of the save fails, and the next save works', async () => {
    const count = async () => Number((await server.app.db.selectFrom('incidents').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
    const before = await count()
    await server.newlyPublished()
    // the table refuses an empty name (the HTTP schema would have refused it first)
    await expect(server.app.incidents.create({ name: '', geometry: point(1, 1) }, reporter.id)).rejects.toThrow(/check constraint/)
    expect(await count()).toBe(before)
    expect(await server.newlyPublished()).toEqual([])
    const next = await server.app.incidents.create({ name: 'after the failure', geometry: point(1, 1) }, reporter.id)
    expect(next.properties.name).toBe('after the failure')
    expect((await server.newlyPublished()).map((n) => n.type)).toEqual(['post_save'])
  })
})
