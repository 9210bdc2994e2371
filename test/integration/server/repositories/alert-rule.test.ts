import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BACKENDS, point, square, startTestServer, type TestServer } from '../../../helpers/test-server.ts'

// The alert rule of DESIGN.md, read straight from the outbox that the saving
// transaction writes.

describe.each(BACKENDS)('alert rule on %s', (backend) => {
  let server: TestServer
  let ownerId: number

  beforeAll(async () => {
    server = await startTestServer(backend)
    ownerId = (await server.admin()).id
  })
  afterAll(() => server?.close())

  const alerts = async () => (await server.newlyPublished()).filter((n) => n.type === 'alert')
  const alertedAreaIds = async () => (await alerts()).map((a) => (a.type === 'alert' ? a.areas_of_interest.map((x) => x.id) : []))

  beforeEach(async () => {
    await server.app.db.deleteFrom('incidents').execute()
    await server.app.db.deleteFrom('areas_of_interest').execute()
    await server.newlyPublished()
  })

  it('alerts an area when an open incident inside it is at or above its threshold', async () => {
    const high = await server.app.areas.create({ name: 'High zone', severity: 'high', geometry: square(10, 10, 1) }, ownerId)
    await server.newlyPublished()

    await server.app.incidents.create({ name: 'urgent inside', severity: 'urgent', geometry: point(10, 10) }, ownerId)
    await server.app.incidents.create({ name: 'high inside', severity: 'high', geometry: point(10.5, 10.5) }, ownerId)
    await server.app.incidents.create({ name: 'medium inside', severity: 'medium', geometry: point(10.2, 9.8) }, ownerId)
    await server.app.incidents.create({ name: 'urgent outside', severity: 'urgent', geometry: point(20, 20) }, ownerId)

    const sent = await alerts()
    expect(sent.map((a) => a.feature.properties.name)).toEqual(['urgent inside', 'high inside'])
    expect(sent[0]).toMatchObject({
      type: 'alert',
      areas_of_interest: [{ id: high.properties.id, name: 'High zone', severity: 'high', url: `/api/areas/${high.properties.id}` }],
    })
  })

  it('alerts every area an urgent incident is in, and an info incident only info areas', async () => {
    const info = await server.app.areas.create({ name: 'info', severity: 'info', geometry: square(0, 0, 2) }, ownerId)
    const urgent = await server.app.areas.create({ name: 'urgent', severity: 'urgent', geometry: square(0, 0, 1) }, ownerId)
    await server.newlyPublished()

    await server.app.incidents.create({ name: 'u', severity: 'urgent', geometry: point(0.1, 0.1) }, ownerId)
    expect(await alertedAreaIds()).toEqual([[info.properties.id, urgent.properties.id]])

    await server.app.incidents.create({ name: 'i', severity: 'info', geometry: point(0.2, 0.2) }, ownerId)
    expect(await alertedAreaIds()).toEqual([[info.properties.id]])
  })

  it('counts a point on the boundary as inside', async () => {
    await server.app.areas.create({ name: 'edge', severity: 'low', geometry: square(5, 5, 1) }, ownerId)
    await server.newlyPublished()
    await server.app.incidents.create({ name: 'on the edge', severity: 'low', geometry: point(6, 5) }, ownerId)
    expect(await alerts()).toHaveLength(1)
  })

  it('never alerts for a closed incident', async () => {
    await server.app.areas.create({ name: 'any', severity: 'info', geometry: square(0, 0, 1) }, ownerId)
    await server.newlyPublished()
    const created = await server.app.incidents.create({ name: 'closed', severity: 'urgent', closed: true, geometry: point(0, 0) }, ownerId)
    expect(await alerts()).toEqual([])
    await server.app.incidents.update(created.properties.id, { description: 'still closed' })
    expect(await alerts()).toEqual([])
  })

  it('does not re-alert the same areas on an edit, but does on a reopen', async () => {
    const area = await server.app.areas.create({ name: 'zone', severity: 'medium', geometry: square(0, 0, 1) }, ownerId)
    const incident = await server.app.incidents.create({ name: 'leak', severity: 'high', geometry: point(0, 0) }, ownerId)
    expect(await alerts()).toHaveLength(1)

    await server.app.incidents.update(incident.properties.id, { name: 'big leak', description: 'more water' })
    await server.app.incidents.update(incident.properties.id, { geometry: point(0.5, 0.5) }) // moved, same area
    await server.app.incidents.update(incident.properties.id, { severity: 'urgent' }) // same set of areas
    const afterEdits = await server.newlyPublished()
    expect(afterEdits.map((n) => n.type)).toEqual(['post_save', 'post_save', 'post_save'])

    await server.app.incidents.update(incident.properties.id, { closed: true })
    expect(await alerts()).toEqual([])
    await server.app.incidents.update(incident.properties.id, { closed: false })
    expect(await alertedAreaIds()).toEqual([[area.properties.id]])
  })

  it('alerts only the new area when an incident moves into it', async () => {
    const west = await server.app.areas.create({ name: 'west', severity: 'low', geometry: square(-5, 0, 1) }, ownerId)
    const east = await server.app.areas.create({ name: 'east', severity: 'low', geometry: square(5, 0, 1) }, ownerId)
    const wide = await server.app.areas.create({ name: 'wide', severity: 'low', geometry: square(0, 0, 10) }, ownerId)
    const incident = await server.app.incidents.create({ name: 'truck', severity: 'medium', geometry: point(-5, 0) }, ownerId)
    expect(await alertedAreaIds()).toEqual([[west.properties.id, wide.properties.id]])

    await server.app.incidents.update(incident.properties.id, { geometry: point(5, 0) })
    expect(await alertedAreaIds()).toEqual([[east.properties.id]])
  })

  it('alerts an area when a severity raise crosses its threshold', async () => {
    const area = await server.app.areas.create({ name: 'strict', severity: 'high', geometry: square(0, 0, 1) }, ownerId)
    const incident = await server.app.incidents.create({ name: 'smoke', severity: 'low', geometry: point(0, 0) }, ownerId)
    expect(await alerts()).toEqual([])
    await server.app.incidents.update(incident.properties.id, { severity: 'high' })
    expect(await alertedAreaIds()).toEqual([[area.properties.id]])
  })

  it('alerts a new area for the open incidents already inside it', async () => {
    await server.app.incidents.create({ name: 'inside', severity: 'high', geometry: point(1, 1) }, ownerId)
    await server.app.incidents.create({ name: 'inside but low', severity: 'low', geometry: point(1.1, 1.1) }, ownerId)
    await server.app.incidents.create({ name: 'inside but closed', severity: 'urgent', closed: true, geometry: point(0.9, 0.9) }, ownerId)
    await server.app.incidents.create({ name: 'outside', severity: 'urgent', geometry: point(30, 30) }, ownerId)
    await server.newlyPublished()

    const area = await server.app.areas.create({ name: 'new', severity: 'medium', geometry: square(1, 1, 0.5) }, ownerId)
    const written = await server.newlyPublished()
    expect(written[0]).toMatchObject({ type: 'post_save', created: true, feature: { id: `area:${area.properties.id}` } })
    const sent = written.filter((n) => n.type === 'alert')
    expect(sent.map((a) => a.feature.properties.name)).toEqual(['inside'])
    expect(sent[0]).toMatchObject({ areas_of_interest: [{ id: area.properties.id, name: 'new' }] })
  })

  it('alerts a redrawn area only for incidents newly inside it, and a rename alerts nothing', async () => {
    await server.app.incidents.create({ name: 'a', severity: 'urgent', geometry: point(0, 0) }, ownerId)
    await server.app.incidents.create({ name: 'b', severity: 'urgent', geometry: point(3, 0) }, ownerId)
    const area = await server.app.areas.create({ name: 'zone', severity: 'high', geometry: square(0, 0, 1) }, ownerId)
    expect((await alerts()).map((a) => a.feature.properties.name)).toEqual(['a'])

    await server.app.areas.update(area.properties.id, { name: 'renamed zone' })
    expect(await alerts()).toEqual([])

    await server.app.areas.update(area.properties.id, { geometry: square(1.5, 0, 2) })
    expect((await alerts()).map((a) => a.feature.properties.name)).toEqual(['b'])
  })

  it('writes post_delete with the last state of the feature', async () => {
    const incident = await server.app.incidents.create({ name: 'gone', geometry: point(1, 2) }, ownerId)
    await server.newlyPublished()
    await server.app.incidents.remove(incident.properties.id)
    expect(await server.newlyPublished()).toEqual([{ type: 'post_delete', feature: incident }])
  })

  it('runs post-save and post-delete hooks after the commit, with the saved feature', async () => {
    const seen: string[] = []
    const off = [
      server.app.saveHooks.onPostSave(async (feature, { created }) => {
        const row = await server.app.db.selectFrom('incidents').select('name').where('id', '=', feature.properties.id).executeTakeFirst()
        // visible from another connection: the transaction has committed
        seen.push(`save ${feature.id} created=${created} committed=${row?.name === feature.properties.name}`)
      }),
      server.app.saveHooks.onPostDelete((feature) => void seen.push(`delete ${feature.id}`)),
    ]
    const incident = await server.app.incidents.create({ name: 'hooked', geometry: point(0, 0) }, ownerId)
    await server.app.incidents.update(incident.properties.id, { name: 'hooked again' })
    await server.app.incidents.remove(incident.properties.id)
    off.forEach((unsubscribe) => unsubscribe())
    const id = `incident:${incident.properties.id}`
    expect(seen).toEqual([`save ${id} created=true committed=true`, `save ${id} created=false committed=true`, `delete ${id}`])
  })

  it('writes nothing when a save fails', async () => {
    const incident = await server.app.incidents.create({ name: 'versioned', geometry: point(0, 0) }, ownerId)
    await server.newlyPublished()
    await expect(server.app.incidents.update(incident.properties.id, { name: 'stale' }, 99)).rejects.toThrow(/version 1, not 99/)
    expect(await server.newlyPublished()).toEqual([])
    expect((await server.app.incidents.get(incident.properties.id)).properties.name).toBe('versioned')
  })
})
