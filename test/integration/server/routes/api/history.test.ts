import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AreaFeature, IncidentFeature } from '../../../../../contracts/features.ts'
import type { History, HistoryEntry } from '../../../../../contracts/history.ts'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { expectCleanProblem } from '../../../../helpers/problem-checks.ts'

// Who changed an incident or an area, what and when
// (server/routes/api/history.ts): each change made over HTTP, by whoever
// made it, oldest first; a deleted one's history is kept for admins only.

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe.each(BACKENDS)('history on %s', (backend) => {
  let server: TestServer
  let ana: TestUser
  let ben: TestUser
  let viewer: TestUser
  let admin: TestUser

  beforeAll(async () => {
    server = await startTestServer(backend)
    ana = await server.user('operator')
    ben = await server.user('operator')
    viewer = await server.user('viewer')
    admin = await server.admin()
  })
  afterAll(() => server?.close())

  const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, user: TestUser, payload?: object) =>
    server.app.inject({ method, url, headers: bearer(user.key), ...(payload ? { payload } : {}) })
  async function ok<T>(method: 'POST' | 'PATCH' | 'DELETE', url: string, user: TestUser, payload?: object): Promise<T> {
    const response = await send(method, url, user, payload)
    expect(response.statusCode, response.body).toBeLessThan(300)
    return (response.body ? response.json() : undefined) as T
  }
  const historyOf = (path: string, user: TestUser | null = viewer) => server.app.inject({ method: 'GET', url: `${path}/history`, headers: user ? bearer(user.key) : {} })
  async function entries(path: string, user: TestUser = viewer): Promise<HistoryEntry[]> {
    const response = await historyOf(path, user)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<History>().entries
  }
  const by = (user: TestUser) => ({ id: user.id, username: user.username })
  /** an entry as the API shows it, whatever its id and instant */
  const entry = (action: string, actor: TestUser | null, changes: object, alert: object | null = null) => ({
    id: expect.any(Number), at: expect.stringMatching(ISO_INSTANT), action, actor: actor && by(actor), changes, alert,
  })
  const expectOldestFirst = (list: HistoryEntry[]) => {
    for (let i = 1; i < list.length; i++) {
      expect(list[i]!.id).toBeGreaterThan(list[i - 1]!.id)
      expect(Date.parse(list[i]!.at)).toBeGreaterThanOrEqual(Date.parse(list[i - 1]!.at))
    }
  }

  it("shows an incident's edits by two users with each field before and after and who made it, oldest first", async () => {
    const created = await ok<IncidentFeature>('POST', '/api/incidents', ana, {
      type: 'Feature', geometry: point(2.5, 48.25), properties: { name: 'burst main', description: 'water on the road', severity: 'medium' },
    })
    const url = created.properties.url
    await ok('PATCH', url, ana, { properties: { name: 'burst water main' } })
    await ok('PATCH', url, ben, { properties: { severity: 'high', description: 'road flooded' } })
    await ok('PATCH', url, ben, { geometry: point(2.75, 48.5) })
    await ok('PATCH', url, ana, { properties: { closed: true } })
    await ok('PATCH', url, ben, { properties: { closed: false, name: 'main burst again' }, geometry: point(3, 48.5) })

    const list = await entries(url)
    expect(list).toEqual([
      entry('created', ana, {
        name: { before: null, after: 'burst main' }, description: { before: null, after: 'water on the road' },
        severity: { before: null, after: 'medium' }, closed: { before: null, after: false }, coordinates: { before: null, after: [2.5, 48.25] },
      }),
      entry('edited', ana, { name: { before: 'burst main', after: 'burst water main' } }),
      entry('edited', ben, { severity: { before: 'medium', after: 'high' }, description: { before: 'water on the road', after: 'road flooded' } }),
      entry('moved', ben, { coordinates: { before: [2.5, 48.25], after: [2.75, 48.5] } }),
      entry('closed', ana, { closed: { before: false, after: true } }),
      // one save that changes several things: one entry per kind of change
      entry('edited', ben, { name: { before: 'burst water main', after: 'main burst again' } }),
      entry('moved', ben, { coordinates: { before: [2.75, 48.5], after: [3, 48.5] } }),
      entry('reopened', ben, { closed: { before: true, after: false } }),
    ])
    expectOldestFirst(list)
  })

  it("records an incident's alerts: fired, acknowledged with the note, resolved with the reason", async () => {
    const area = await ok<AreaFeature>('POST', '/api/areas', admin, { type: 'Feature', geometry: square(20, 20, 1), properties: { name: 'Docks', severity: 'high' } })
    const incident = await ok<IncidentFeature>('POST', '/api/incidents', ana, { type: 'Feature', geometry: point(20, 20), properties: { name: 'crane down', severity: 'urgent' } })
    const [alert] = (await server.app.alerts.list({ incident: incident.properties.id, limit: 10 })).alerts
    const about = { id: alert!.id, area: { id: area.properties.id, name: 'Docks' } }
    await ok('POST', `/api/alerts/${alert!.id}/acknowledge`, ben, { note: 'crew dispatched' })
    await ok('PATCH', incident.properties.url, ana, { properties: { closed: true } })

    const list = await entries(incident.properties.url)
    expect(list.map((e) => e.action)).toEqual(['created', 'alert_fired', 'alert_acknowledged', 'closed', 'alert_resolved'])
    expect(list.slice(1)).toEqual([
      entry('alert_fired', ana, { state: { before: null, after: 'open' } }, about),
      entry('alert_acknowledged', ben, { state: { before: 'open', after: 'acknowledged' }, note: { before: null, after: 'crew dispatched' } }, about),
      entry('closed', ana, { closed: { before: false, after: true } }),
      entry('alert_resolved', ana, { state: { before: 'acknowledged', after: 'resolved' }, reason: { before: null, after: 'incident_closed' } }, about),
    ])
    expectOldestFirst(list)
  })

  it("records an area's alerts on its incidents, by whoever changed the area", async () => {
    const incident = await ok<IncidentFeature>('POST', '/api/incidents', ana, { type: 'Feature', geometry: point(30, 20), properties: { name: 'sinkhole', severity: 'high' } })
    const area = await ok<AreaFeature>('POST', '/api/areas', ben, { type: 'Feature', geometry: square(30, 20, 1), properties: { name: 'Suburb', severity: 'low' } })
    await ok('PATCH', area.properties.url, admin, { properties: { severity: 'urgent' } })
    const about = (alertId: number) => ({ id: alertId, area: { id: area.properties.id, name: 'Suburb' } })
    const [alert] = (await server.app.alerts.list({ incident: incident.properties.id, limit: 10 })).alerts
    expect((await entries(incident.properties.url)).slice(1)).toEqual([
      entry('alert_fired', ben, { state: { before: null, after: 'open' } }, about(alert!.id)),
      entry('alert_resolved', admin, { state: { before: 'open', after: 'resolved' }, reason: { before: null, after: 'below_threshold' } }, about(alert!.id)),
    ])
  })

  it("shows an area created, edited, redrawn and deleted, and keeps a deleted area's history for admins only", async () => {
    const area = await ok<AreaFeature>('POST', '/api/areas', ana, { type: 'Feature', geometry: square(40, 10, 1), properties: { name: 'Campus', severity: 'medium' } })
    const url = area.properties.url
    await ok('PATCH', url, ben, { properties: { name: 'University campus', severity: 'high' } })
    await ok('PATCH', url, ana, { geometry: square(41, 10.5, 2) })
    await ok('DELETE', url, ben)

    const expected = [
      entry('created', ana, { name: { before: null, after: 'Campus' }, severity: { before: null, after: 'medium' }, bbox: { before: null, after: [39, 9, 41, 11] } }),
      entry('edited', ben, { name: { before: 'Campus', after: 'University campus' }, severity: { before: 'medium', after: 'high' } }),
      entry('redrawn', ana, { bbox: { before: [39, 9, 41, 11], after: [39, 8.5, 43, 12.5] } }),
      entry('deleted', ben, { name: { before: 'University campus', after: null }, severity: { before: 'high', after: null }, bbox: { before: [39, 8.5, 43, 12.5], after: null } }),
    ]
    const list = await entries(url, admin)
    expect(list).toEqual(expected)
    expectOldestFirst(list)
    for (const user of [ana, viewer]) expect(expectCleanProblem(await historyOf(url, user), 404).detail).toBe(`area ${area.properties.id} does not exist`)
  })

  it("keeps a deleted incident's history, its alerts resolved with it, for admins only", async () => {
    const area = await ok<AreaFeature>('POST', '/api/areas', admin, { type: 'Feature', geometry: square(50, 10, 1), properties: { name: 'Mall', severity: 'low' } })
    const incident = await ok<IncidentFeature>('POST', '/api/incidents', ana, { type: 'Feature', geometry: point(50, 10), properties: { name: 'alarm', severity: 'low' } })
    const [alert] = (await server.app.alerts.list({ incident: incident.properties.id, limit: 10 })).alerts
    const url = incident.properties.url
    expect((await entries(url, viewer)).map((e) => e.action)).toEqual(['created', 'alert_fired'])
    await ok('DELETE', url, ben)

    const list = await entries(url, admin)
    expect(list.slice(2)).toEqual([
      entry('deleted', ben, {
        name: { before: 'alarm', after: null }, description: { before: '', after: null }, severity: { before: 'low', after: null },
        closed: { before: false, after: null }, coordinates: { before: [50, 10], after: null },
      }),
      entry('alert_resolved', ben, { state: { before: 'open', after: 'resolved' }, reason: { before: null, after: 'incident_deleted' } }, { id: alert!.id, area: { id: area.properties.id, name: 'Mall' } }),
    ])
    for (const user of [ana, viewer]) expect(expectCleanProblem(await historyOf(url, user), 404).detail).toBe(`incident ${incident.properties.id} does not exist`)
  })

  it('answers 404 for what never existed, even to an admin, and 401 without a session', async () => {
    for (const path of ['/api/incidents/999999', '/api/areas/999999']) {
      expectCleanProblem(await historyOf(path, admin), 404)
      expectCleanProblem(await historyOf(path, null), 401)
    }
  })

  it('shows on a feature, over REST and in its frames, the username of whoever saved it last', async () => {
    const incident = await ok<IncidentFeature>('POST', '/api/incidents', ana, { type: 'Feature', geometry: point(60, 10), properties: { name: 'pothole' } })
    expect(incident.properties).toMatchObject({ reporter: ana.username, updated_by: ana.username })
    const area = await ok<AreaFeature>('POST', '/api/areas', ana, { type: 'Feature', geometry: square(70, 10, 1), properties: { name: 'Ring road' } })
    expect(area.properties).toMatchObject({ owner: ana.username, updated_by: ana.username })
    await server.newlyPublished()

    const edited = await ok<IncidentFeature>('PATCH', incident.properties.url, ben, { properties: { description: 'deep' } })
    const redrawn = await ok<AreaFeature>('PATCH', area.properties.url, ben, { geometry: square(70, 10, 2) })
    expect(edited.properties).toMatchObject({ reporter: ana.username, updated_by: ben.username })
    expect(redrawn.properties).toMatchObject({ owner: ana.username, updated_by: ben.username })
    const read = async (path: string) => (await server.app.inject({ method: 'GET', url: path, headers: bearer(viewer.key) })).json()
    expect((await read(incident.properties.url)).properties.updated_by).toBe(ben.username)
    expect((await read(area.properties.url)).properties.updated_by).toBe(ben.username)
    const listed = (await read('/api/incidents?limit=1000')).features.find((f: IncidentFeature) => f.properties.id === incident.properties.id)
    expect(listed.properties.updated_by).toBe(ben.username)
    expect(await server.newlyPublished()).toEqual([
      { type: 'post_save', created: false, feature: edited },
      { type: 'post_save', created: false, feature: redrawn },
    ])

    await ok('DELETE', incident.properties.url, admin)
    const [deleted] = await server.newlyPublished()
    // what a delete tells the map is the feature as it was: saved last by ben
    expect(deleted).toEqual({ type: 'post_delete', feature: edited })
  })
})
