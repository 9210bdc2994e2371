import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { LightMyRequestResponse } from 'fastify'
import type { AreaFeature, IncidentFeature } from '../../../../../contracts/features.ts'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { waitUntil } from '../../../../helpers/wait.ts'

// Incidents and areas of interest through HTTP, as a client sees them:
// GeoJSON in, GeoJSON out, [longitude, latitude] everywhere, versions that
// bump on every change and refuse a stale one.

const PROBLEM_JSON = /^application\/problem\+json/
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

interface Collection<F> {
  type: 'FeatureCollection'
  features: F[]
  next_cursor: number | null
}

// Paris: longitude 2.35, latitude 48.85. Swapped it would be in the Indian Ocean off Somalia.
const PARIS = point(2.3522, 48.8566)

describe.each(BACKENDS)('REST API on %s', (backend) => {
  let server: TestServer
  let operator: TestUser
  let auth: Record<string, string>

  beforeAll(async () => {
    server = await startTestServer(backend)
    operator = await server.user('operator')
    auth = bearer(operator.key)
  })
  afterAll(() => server?.close())

  const get = (url: string, headers: Record<string, string> = auth) => server.app.inject({ method: 'GET', url, headers })
  const post = (url: string, payload: object) => server.app.inject({ method: 'POST', url, headers: auth, payload })
  const patch = (url: string, payload: object, headers: Record<string, string> = {}) =>
    server.app.inject({ method: 'PATCH', url, headers: { ...auth, ...headers }, payload })
  const del = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'DELETE', url, headers: { ...auth, ...headers } })

  function expectProblem(response: LightMyRequestResponse, status: number, detail?: string | RegExp) {
    expect(response.statusCode, response.body).toBe(status)
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON)
    const body = response.json<{ status: number; detail: string; title: string }>()
    expect(body.status).toBe(status)
    expect(typeof body.detail).toBe('string')
    if (typeof detail === 'string') expect(body.detail).toBe(detail)
    else if (detail) expect(body.detail).toMatch(detail)
    return body
  }

  /** how many notifications the saves so far have published */
  async function notificationCount(): Promise<number> {
    return (await server.published()).length
  }

  async function createIncident(payload: object): Promise<IncidentFeature> {
    const response = await post('/api/incidents', payload)
    expect(response.statusCode, response.body).toBe(201)
    return response.json<IncidentFeature>()
  }
  async function createArea(payload: object): Promise<AreaFeature> {
    const response = await post('/api/areas', payload)
    expect(response.statusCode, response.body).toBe(201)
    return response.json<AreaFeature>()
  }
  const incidentFeature = (name: string, geometry: object, properties: object = {}) => ({ type: 'Feature', geometry, properties: { name, ...properties } })
  const areaFeature = incidentFeature

  /** every page of a list, following next_cursor */
  async function walk<F extends { properties: { id: number } }>(url: string): Promise<{ pages: Collection<F>[]; ids: number[] }> {
    const pages: Collection<F>[] = []
    let cursor: number | null = null
    do {
      const next = new URL(url, 'http://localhost')
      if (cursor !== null) next.searchParams.set('cursor', String(cursor))
      const response = await get(`${next.pathname}${next.search}`)
      expect(response.statusCode, response.body).toBe(200)
      const page = response.json<Collection<F>>()
      expect(page.type).toBe('FeatureCollection')
      pages.push(page)
      cursor = page.next_cursor
      expect(pages.length).toBeLessThan(100)
    } while (cursor !== null)
    return { pages, ids: pages.flatMap((p) => p.features.map((f) => f.properties.id)) }
  }

  const ids = (collection: Collection<{ properties: { id: number } }>) => collection.features.map((f) => f.properties.id)
  const listIds = async (url: string) => {
    const response = await get(url)
    expect(response.statusCode, response.body).toBe(200)
    return ids(response.json())
  }

  beforeEach(async () => {
    await server.app.db.deleteFrom('incidents').execute()
    await server.app.db.deleteFrom('areas_of_interest').execute()
  })

  it('saves each of many reports sent at once exactly once, each with its own feature and outbox rows (group commit)', async () => {
    // 25 at once: all but the first few wait for a free transaction and are committed in groups (db/group-commit.ts)
    await createArea(areaFeature('the whole test area', square(0, 0, 10), { severity: 'info' }))
    const before = (await server.published()).length
    const names = Array.from({ length: 25 }, (_, i) => `burst ${i}`)
    const responses = await Promise.all(names.map((name, i) => post('/api/incidents', incidentFeature(name, point(1 + i / 10, 1), { severity: 'high' }))))
    const created = responses.map((response) => {
      expect(response.statusCode, response.body).toBe(201)
      return response.json<IncidentFeature>()
    })
    expect(created.map((f) => f.properties.name)).toEqual(names)
    expect(created.map((f) => f.geometry.coordinates)).toEqual(names.map((_, i) => [1 + i / 10, 1]))
    expect(new Set(created.map((f) => f.properties.id)).size).toBe(25)
    for (const feature of created) expect(responses[created.indexOf(feature)]!.headers.location).toBe(feature.properties.url)

    // one post_save, one alert and one alert opened per report, nothing more, each naming its own incident
    const rows = (await server.published()).slice(before)
    const featureIds = (type: string) => rows.filter((r) => r.type === type).map((r) => (r as { feature: IncidentFeature }).feature.id).sort()
    const expected = created.map((f) => f.id).sort()
    expect(featureIds('post_save')).toEqual(expected)
    expect(featureIds('alert')).toEqual(expected)
    const opened = rows.flatMap((r) => (r.type === 'alert_update' ? [r.alert] : []))
    expect(opened.map((a) => `incident:${a.incident!.id}`).sort()).toEqual(expected)
    expect(opened.every((a) => a.state === 'open')).toBe(true)
    expect(rows).toHaveLength(75)
  })

  // -------------------------------------------------------------------------

  describe('incidents', () => {
    it('creates one from a GeoJSON Feature: 201, Location, ETag, the saved feature in RFC 7946 order', async () => {
      const before = Date.now()
      const response = await post('/api/incidents', incidentFeature('Burst main', PARIS, { description: 'water on the street', severity: 'high' }))
      expect(response.statusCode, response.body).toBe(201)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      const feature = response.json<IncidentFeature>()
      const id = feature.properties.id
      expect(Number.isInteger(id)).toBe(true)
      expect(response.headers.location).toBe(`/api/incidents/${id}`)
      expect(response.headers.etag).toBe('"1"')
      expect(feature).toEqual({
        type: 'Feature',
        id: `incident:${id}`,
        geometry: { type: 'Point', coordinates: [2.3522, 48.8566] },
        properties: {
          id,
          kind: 'incident',
          name: 'Burst main',
          description: 'water on the street',
          severity: 'high',
          closed: false,
          created: expect.stringMatching(ISO_INSTANT),
          updated: expect.stringMatching(ISO_INSTANT),
          reporter: operator.username,
          updated_by: operator.username,
          version: 1,
          url: `/api/incidents/${id}`,
        },
      })
      expect(feature.properties.updated).toBe(feature.properties.created)
      const created = Date.parse(feature.properties.created)
      expect(created).toBeGreaterThanOrEqual(before - 5_000)
      expect(created).toBeLessThanOrEqual(Date.now() + 5_000)

      // stored as longitude x, latitude y
      const stored = await server.app.db
        .selectFrom('incidents')
        .select([sql<number>`ST_X(location)`.as('x'), sql<number>`ST_Y(location)`.as('y'), sql<number>`ST_SRID(location)`.as('srid')])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      expect({ x: Number(stored.x), y: Number(stored.y), srid: Number(stored.srid) }).toEqual({ x: 2.3522, y: 48.8566, srid: 4326 })
    })

    it('creates one from the flat form, with the defaults', async () => {
      const response = await post('/api/incidents', { name: 'Smoke', location: { lon: -73.9857, lat: 40.7484 } })
      expect(response.statusCode, response.body).toBe(201)
      const feature = response.json<IncidentFeature>()
      expect(response.headers.location).toBe(`/api/incidents/${feature.properties.id}`)
      expect(response.headers.etag).toBe('"1"')
      expect(feature.id).toBe(`incident:${feature.properties.id}`)
      expect(feature.geometry).toEqual({ type: 'Point', coordinates: [-73.9857, 40.7484] })
      expect(feature.properties).toMatchObject({ kind: 'incident', name: 'Smoke', description: '', severity: 'medium', closed: false, version: 1, reporter: operator.username })

      const full = await createIncident({ name: 'Fire', description: '3rd floor', severity: 'urgent', closed: true, location: { lon: 151.2093, lat: -33.8688 } })
      expect(full.geometry.coordinates).toEqual([151.2093, -33.8688])
      expect(full.properties).toMatchObject({ name: 'Fire', description: '3rd floor', severity: 'urgent', closed: true })
    })

    it('gets one by id with its ETag, and 404 for a missing one', async () => {
      const created = await createIncident(incidentFeature('Pothole', point(-0.1276, 51.5072), { severity: 'low' }))
      const response = await get(created.properties.url)
      expect(response.statusCode).toBe(200)
      expect(response.headers.etag).toBe('"1"')
      expect(response.json()).toEqual(created)

      expectProblem(await get('/api/incidents/999999'), 404, 'incident 999999 does not exist')
      expectProblem(await get(`/api/incidents/${created.properties.id + 1000}`), 404)
    })

    it('lists them as a FeatureCollection, oldest first', async () => {
      const empty = await get('/api/incidents')
      expect(empty.statusCode).toBe(200)
      expect(empty.json()).toEqual({ type: 'FeatureCollection', features: [], next_cursor: null })

      const a = await createIncident(incidentFeature('a', point(10, 20)))
      const b = await createIncident(incidentFeature('b', point(-30, -40), { severity: 'info' }))
      const response = await get('/api/incidents')
      expect(response.json()).toEqual({ type: 'FeatureCollection', features: [a, b], next_cursor: null })
    })

    it('filters the list by bbox, severity (repeated), closed and since', async () => {
      const a = await createIncident(incidentFeature('a', point(10, 10), { severity: 'high' }))
      const b = await createIncident(incidentFeature('b', point(20, 20), { severity: 'urgent' }))
      const c = await createIncident(incidentFeature('c', point(10.5, 10.5), { severity: 'low', closed: true }))
      const d = await createIncident(incidentFeature('d', point(-50, -20), { severity: 'medium' }))
      const e = await createIncident(incidentFeature('e', point(30, -10), { severity: 'high', closed: true }))
      // a point with x and y swapped must not match: (10, 30) is not (30, 10)
      const f = await createIncident(incidentFeature('f', point(-10, 30), { severity: 'info' }))
      const [A, B, C, D, E, F] = [a, b, c, d, e, f].map((x) => x.properties.id)

      expect(await listIds('/api/incidents')).toEqual([A, B, C, D, E, F])
      expect(await listIds('/api/incidents?bbox=9,9,11,11')).toEqual([A, C])
      expect(await listIds('/api/incidents?bbox=0,0,25,25')).toEqual([A, B, C])
      expect(await listIds('/api/incidents?bbox=25,-15,35,-5')).toEqual([E]) // lon 25..35, lat -15..-5
      expect(await listIds('/api/incidents?bbox=-15,25,-5,35')).toEqual([F])
      expect(await listIds('/api/incidents?bbox=-180,-90,180,90')).toEqual([A, B, C, D, E, F])
      expect(await listIds('/api/incidents?bbox=100,0,110,5')).toEqual([])

      expect(await listIds('/api/incidents?severity=high')).toEqual([A, E])
      expect(await listIds('/api/incidents?severity=high&severity=urgent')).toEqual([A, B, E])
      expect(await listIds('/api/incidents?severity=info&severity=low&severity=medium')).toEqual([C, D, F])

      expect(await listIds('/api/incidents?closed=true')).toEqual([C, E])
      expect(await listIds('/api/incidents?closed=false')).toEqual([A, B, D, F])

      expect(await listIds('/api/incidents?bbox=0,0,25,25&severity=high&severity=urgent&closed=false')).toEqual([A, B])

      expect(await listIds(`/api/incidents?since=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).toEqual([A, B, C, D, E, F])
      expect(await listIds(`/api/incidents?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`)).toEqual([])
      // an edit makes an incident "updated since" (made in a later millisecond than the save, which the timestamps show)
      await waitUntil(() => Date.now() > Date.parse(d.properties.updated) + 1, { what: 'the clock to pass the save' })
      const edited = (await patch(d.properties.url, { properties: { description: 'still there' } })).json<IncidentFeature>()
      expect(Date.parse(edited.properties.updated)).toBeGreaterThan(Date.parse(d.properties.updated))
      expect(await listIds(`/api/incidents?since=${encodeURIComponent(edited.properties.updated)}`)).toEqual([D])
      expect(await listIds(`/api/incidents?since=${encodeURIComponent(edited.properties.updated)}&severity=high`)).toEqual([])
    })

    it('pages with limit and next_cursor, every item exactly once', async () => {
      const created: number[] = []
      for (let i = 0; i < 11; i++) {
        created.push((await createIncident(incidentFeature(`n${i}`, point(i, -i), { severity: i % 3 === 0 ? 'urgent' : 'low' }))).properties.id)
      }

      const byThree = await walk<IncidentFeature>('/api/incidents?limit=3')
      expect(byThree.pages.map((p) => p.features.length)).toEqual([3, 3, 3, 2])
      expect(byThree.ids).toEqual(created)
      expect(new Set(byThree.ids).size).toBe(created.length)
      // the cursor is the id of the last item of the page
      for (const page of byThree.pages.slice(0, -1)) expect(page.next_cursor).toBe(page.features.at(-1)!.properties.id)

      // a last page that is exactly full still says it is the last
      const byEleven = await walk<IncidentFeature>('/api/incidents?limit=11')
      expect(byEleven.pages.map((p) => p.features.length)).toEqual([11])

      const one = await walk<IncidentFeature>('/api/incidents?limit=1')
      expect(one.ids).toEqual(created)

      // paging and filtering together
      const urgent = created.filter((_, i) => i % 3 === 0)
      const filtered = await walk<IncidentFeature>('/api/incidents?severity=urgent&limit=2')
      expect(filtered.ids).toEqual(urgent)
      expect(filtered.pages.map((p) => p.features.length)).toEqual([2, 2])
      expect(filtered.pages.flatMap((p) => p.features).every((f) => f.properties.severity === 'urgent')).toBe(true)
    })

    it('patches properties only, geometry only, or both, bumping the version', async () => {
      const created = await createIncident(incidentFeature('Leak', PARIS, { description: 'small', severity: 'low' }))
      const url = created.properties.url

      const renamed = await patch(url, { properties: { name: 'Big leak', severity: 'high' } })
      expect(renamed.statusCode, renamed.body).toBe(200)
      expect(renamed.headers.etag).toBe('"2"')
      const v2 = renamed.json<IncidentFeature>()
      expect(v2.geometry).toEqual(created.geometry)
      expect(v2.properties).toMatchObject({ name: 'Big leak', severity: 'high', description: 'small', closed: false, version: 2, created: created.properties.created })
      expect(Date.parse(v2.properties.updated)).toBeGreaterThanOrEqual(Date.parse(created.properties.updated))

      const moved = await patch(url, { geometry: point(-3.7038, 40.4168) })
      expect(moved.statusCode, moved.body).toBe(200)
      expect(moved.headers.etag).toBe('"3"')
      const v3 = moved.json<IncidentFeature>()
      expect(v3.geometry).toEqual({ type: 'Point', coordinates: [-3.7038, 40.4168] })
      expect(v3.properties).toMatchObject({ name: 'Big leak', severity: 'high', description: 'small', version: 3 })

      const both = await patch(url, { type: 'Feature', geometry: point(0, 0), properties: { closed: true, description: '' } })
      expect(both.statusCode, both.body).toBe(200)
      const v4 = both.json<IncidentFeature>()
      expect(v4.geometry.coordinates).toEqual([0, 0])
      expect(v4.properties).toMatchObject({ name: 'Big leak', closed: true, description: '', version: 4 })

      expect((await get(url)).json()).toEqual(v4)
      expectProblem(await patch('/api/incidents/999999', { properties: { name: 'x' } }), 404, 'incident 999999 does not exist')
    })

    it('honours If-Match and properties.version, and changes nothing on a stale one', async () => {
      const created = await createIncident(incidentFeature('Versioned', point(5, 5)))
      const url = created.properties.url

      const withHeader = await patch(url, { properties: { name: 'v2' } }, { 'if-match': '"1"' })
      expect(withHeader.statusCode, withHeader.body).toBe(200)
      expect(withHeader.json().properties.version).toBe(2)

      const withBody = await patch(url, { properties: { name: 'v3', version: 2 } })
      expect(withBody.statusCode, withBody.body).toBe(200)
      expect(withBody.headers.etag).toBe('"3"')
      const current = withBody.json<IncidentFeature>()

      // the ETag of one response is the If-Match of the next
      const chained = await patch(url, { properties: { description: 'chained' } }, { 'if-match': withBody.headers.etag as string })
      expect(chained.statusCode, chained.body).toBe(200)
      const v4 = chained.json<IncidentFeature>()
      expect(v4.properties.version).toBe(4)
      expect(current.properties.version).toBe(3)

      const notifications = await notificationCount()
      expectProblem(
        await patch(url, { properties: { name: 'stale header' } }, { 'if-match': '"1"' }),
        409,
        `incident ${created.properties.id} is at version 4, not 1: reload it and apply your change again`,
      )
      expectProblem(await patch(url, { geometry: point(9, 9), properties: { version: 3 } }), 409, /is at version 4, not 3/)
      expectProblem(await patch(url, { properties: { closed: true } }, { 'if-match': 'W/"2"' }), 409, /is at version 4, not 2/)
      expect((await get(url)).json()).toEqual(v4)
      expect(await notificationCount()).toBe(notifications)
    })

    it('deletes: 204, then 404', async () => {
      const created = await createIncident(incidentFeature('Gone soon', point(1, 1)))
      const url = created.properties.url

      expectProblem(await del(url, { 'if-match': '"7"' }), 409, /is at version 1, not 7/)
      expect((await get(url)).statusCode).toBe(200)

      const deleted = await del(url)
      expect(deleted.statusCode, deleted.body).toBe(204)
      expect(deleted.body).toBe('')
      expectProblem(await get(url), 404, `incident ${created.properties.id} does not exist`)
      expectProblem(await del(url), 404)
      expectProblem(await patch(url, { properties: { name: 'ghost' } }), 404)
      expect(await listIds('/api/incidents')).toEqual([])
    })
  })

  // -------------------------------------------------------------------------

  describe('areas of interest', () => {
    const polygon = { type: 'Polygon' as const, coordinates: [[[2.25, 48.75], [2.5, 48.75], [2.5, 49], [2.25, 49], [2.25, 48.75]]] }
    const multiPolygon = {
      type: 'MultiPolygon' as const,
      coordinates: [
        [[[-74.5, 40.5], [-73.5, 40.5], [-73.5, 41.5], [-74.5, 41.5], [-74.5, 40.5]]],
        [[[-70.25, 42], [-70, 42], [-70, 42.25], [-70.25, 42.25], [-70.25, 42]]],
      ],
    }

    it('creates one from a Polygon Feature: 201, Location, ETag, the saved feature', async () => {
      const response = await post('/api/areas', areaFeature('Central Paris', polygon, { severity: 'high' }))
      expect(response.statusCode, response.body).toBe(201)
      const feature = response.json<AreaFeature>()
      const id = feature.properties.id
      expect(response.headers.location).toBe(`/api/areas/${id}`)
      expect(response.headers.etag).toBe('"1"')
      expect(feature).toEqual({
        type: 'Feature',
        id: `area:${id}`,
        geometry: polygon,
        properties: {
          id,
          kind: 'area',
          name: 'Central Paris',
          severity: 'high',
          created: expect.stringMatching(ISO_INSTANT),
          updated: expect.stringMatching(ISO_INSTANT),
          owner: operator.username,
          updated_by: operator.username,
          escalate_after_minutes: null,
          escalation_contacts: { users: [], webhooks: [] },
          version: 1,
          url: `/api/areas/${id}`,
        },
      })
    })

    it('creates one from a MultiPolygon, severity defaulting to medium', async () => {
      const feature = await createArea(areaFeature('New York and Cape Cod', multiPolygon))
      expect(feature.geometry).toEqual(multiPolygon)
      expect(feature.properties).toMatchObject({ kind: 'area', severity: 'medium', version: 1, owner: operator.username })
      const response = await get(feature.properties.url)
      expect(response.statusCode).toBe(200)
      expect(response.headers.etag).toBe('"1"')
      expect(response.json()).toEqual(feature)
    })

    it('gets 404 for a missing one', async () => {
      expectProblem(await get('/api/areas/999999'), 404, 'area 999999 does not exist')
    })

    it('lists them, filtered by bbox and severity, paged by cursor', async () => {
      const paris = await createArea(areaFeature('paris', polygon, { severity: 'high' }))
      const ny = await createArea(areaFeature('ny', multiPolygon, { severity: 'low' }))
      const wide = await createArea(areaFeature('wide', square(0, 45, 10), { severity: 'urgent' }))
      const [P, N, W] = [paris, ny, wide].map((a) => a.properties.id)

      const all = await get('/api/areas')
      expect(all.json()).toEqual({ type: 'FeatureCollection', features: [paris, ny, wide], next_cursor: null })
      expect(await listIds('/api/areas?bbox=2,48,3,49')).toEqual([P, W])
      expect(await listIds('/api/areas?bbox=-70.2,42.1,-70.1,42.2')).toEqual([N]) // inside the second part of the MultiPolygon
      expect(await listIds('/api/areas?bbox=-72,40,-71,41')).toEqual([]) // between the two parts
      expect(await listIds('/api/areas?severity=high&severity=urgent')).toEqual([P, W])
      expect(await listIds('/api/areas?severity=low')).toEqual([N])

      const walked = await walk<AreaFeature>('/api/areas?limit=2')
      expect(walked.pages.map((p) => p.features.length)).toEqual([2, 1])
      expect(walked.ids).toEqual([P, N, W])
    })

    it('patches properties only or geometry only, bumping the version', async () => {
      const created = await createArea(areaFeature('Zone', polygon, { severity: 'low' }))
      const url = created.properties.url

      const renamed = await patch(url, { properties: { name: 'Zone 1', severity: 'urgent' } })
      expect(renamed.statusCode, renamed.body).toBe(200)
      expect(renamed.headers.etag).toBe('"2"')
      const v2 = renamed.json<AreaFeature>()
      expect(v2.geometry).toEqual(polygon)
      expect(v2.properties).toMatchObject({ name: 'Zone 1', severity: 'urgent', version: 2, created: created.properties.created })

      const redrawn = await patch(url, { geometry: multiPolygon })
      expect(redrawn.statusCode, redrawn.body).toBe(200)
      expect(redrawn.headers.etag).toBe('"3"')
      const v3 = redrawn.json<AreaFeature>()
      expect(v3.geometry).toEqual(multiPolygon)
      expect(v3.properties).toMatchObject({ name: 'Zone 1', severity: 'urgent', version: 3 })

      const both = await patch(url, { type: 'Feature', geometry: polygon, properties: { name: 'Zone 2' } })
      expect(both.statusCode, both.body).toBe(200)
      const v4 = both.json<AreaFeature>()
      expect(v4.geometry).toEqual(polygon)
      expect(v4.properties).toMatchObject({ name: 'Zone 2', severity: 'urgent', version: 4 })
      expect((await get(url)).json()).toEqual(v4)

      expectProblem(await patch('/api/areas/999999', { properties: { name: 'x' } }), 404, 'area 999999 does not exist')
    })

    it('honours If-Match and properties.version, and changes nothing on a stale one', async () => {
      const created = await createArea(areaFeature('Versioned', polygon))
      const url = created.properties.url

      expect((await patch(url, { properties: { name: 'v2' } }, { 'if-match': '"1"' })).statusCode).toBe(200)
      const v3 = await patch(url, { properties: { name: 'v3', version: 2 } })
      expect(v3.statusCode, v3.body).toBe(200)
      const current = v3.json<AreaFeature>()
      expect(current.properties.version).toBe(3)

      const notifications = await notificationCount()
      expectProblem(
        await patch(url, { geometry: multiPolygon }, { 'if-match': '"2"' }),
        409,
        `area ${created.properties.id} is at version 3, not 2: reload it and apply your change again`,
      )
      expectProblem(await patch(url, { properties: { severity: 'info', version: 1 } }), 409, /is at version 3, not 1/)
      expect((await get(url)).json()).toEqual(current)
      expect(await notificationCount()).toBe(notifications)
    })

    it('deletes: 204, then 404', async () => {
      const created = await createArea(areaFeature('Gone soon', polygon))
      const url = created.properties.url
      expectProblem(await del(url, { 'if-match': '"2"' }), 409, /is at version 1, not 2/)
      const deleted = await del(url)
      expect(deleted.statusCode, deleted.body).toBe(204)
      expect(deleted.body).toBe('')
      expectProblem(await get(url), 404, `area ${created.properties.id} does not exist`)
      expectProblem(await del(url), 404)
      expect(await listIds('/api/areas')).toEqual([])
    })
  })

  // -------------------------------------------------------------------------

  describe('service', () => {
    it('GET /api/health says the database is fine, without a session', async () => {
      const response = await server.app.inject({ method: 'GET', url: '/api/health' })
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json()).toMatchObject({ status: 'ok', database: { ok: true, kind: backend }, notifications: { ok: true } })
    })

    it('GET /docs/json is an OpenAPI document of the API', async () => {
      const response = await server.app.inject({ method: 'GET', url: '/docs/json' })
      expect(response.statusCode, response.body).toBe(200)
      const doc = response.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>()
      expect(doc.openapi).toMatch(/^3\./)
      expect(Object.keys(doc.paths['/api/incidents'] ?? {})).toEqual(expect.arrayContaining(['get', 'post']))
      expect(Object.keys(doc.paths['/api/incidents/{id}'] ?? {})).toEqual(expect.arrayContaining(['get', 'patch', 'delete']))
      expect(Object.keys(doc.paths['/api/areas'] ?? {})).toEqual(expect.arrayContaining(['get', 'post']))
      expect(Object.keys(doc.paths['/api/areas/{id}'] ?? {})).toEqual(expect.arrayContaining(['get', 'patch', 'delete']))
      const health = (doc.paths['/api/health'] ?? {}) as Record<string, { tags?: string[]; responses?: Record<string, unknown> }>
      expect(Object.keys(health)).toContain('get')
      expect(health.get!.tags).toEqual(['health'])
      expect(Object.keys(health.get!.responses ?? {})).toEqual(expect.arrayContaining(['200', '503']))
    })

    it('refuses the API without a session (401) and writes by a viewer (403)', async () => {
      expectProblem(await server.app.inject({ method: 'GET', url: '/api/incidents' }), 401, 'sign in first: this needs a session')
      expectProblem(await server.app.inject({ method: 'GET', url: '/api/areas' }), 401)
      expectProblem(await server.app.inject({ method: 'GET', url: '/api/incidents', headers: bearer('not-a-real-session-key') }), 401)
      expectProblem(await server.app.inject({ method: 'POST', url: '/api/incidents', payload: { name: 'x', location: { lon: 0, lat: 0 } } }), 401)

      const viewer = await server.user('viewer')
      expect((await get('/api/incidents', bearer(viewer.key))).statusCode).toBe(200)
      expectProblem(
        await server.app.inject({ method: 'POST', url: '/api/incidents', headers: bearer(viewer.key), payload: { name: 'x', location: { lon: 0, lat: 0 } } }),
        403,
      )
      expect(await listIds('/api/incidents')).toEqual([])
    })
  })
})
