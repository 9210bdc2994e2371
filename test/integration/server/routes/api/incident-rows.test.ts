import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { IncidentFeature } from '../../../../../contracts/features.ts'
import { INCIDENT_ROW_COLUMNS, incidentFromRow, type IncidentRowsPage, type PageCursors } from '../../../../../contracts/incident-rows.ts'
import { BACKENDS, bearer, point, startTestServer, type TestServer } from '../../../../helpers/test-server.ts'

// The dashboard's first load: GET /api/incidents/rows (the list as compact
// rows) and GET /api/incidents/cursors (where each page starts, so all pages
// can be asked for at once). Whatever the shape, a client must end up with
// exactly the features GET /api/incidents gives.

interface Collection {
  features: IncidentFeature[]
  next_cursor: number | null
}

describe.each(BACKENDS)('incident rows and page cursors on %s', (backend) => {
  let server: TestServer
  let auth: Record<string, string>

  beforeAll(async () => {
    server = await startTestServer(backend)
    auth = bearer((await server.user('operator')).key)
  })
  afterAll(() => server?.close())

  beforeEach(async () => {
    await server.app.db.deleteFrom('incidents').execute()
  })

  const get = (url: string) => server.app.inject({ method: 'GET', url, headers: auth })
  async function json<T>(url: string): Promise<T> {
    const response = await get(url)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<T>()
  }
  async function create(name: string, lon: number, lat: number, properties: object = {}): Promise<IncidentFeature> {
    const response = await server.app.inject({
      method: 'POST', url: '/api/incidents', headers: auth,
      payload: { type: 'Feature', geometry: point(lon, lat), properties: { name, ...properties } },
    })
    expect(response.statusCode, response.body).toBe(201)
    return response.json<IncidentFeature>()
  }
  const rowIds = (page: IncidentRowsPage) => page.rows.map((row) => row[0])
  const featureIds = (page: Collection) => page.features.map((f) => f.properties.id)

  it('sends the incidents of GET /api/incidents as rows that decode to the very same features', async () => {
    await create('plain', 2.3522, 48.8566)
    await create('quotes " and \\ backslash, <tags> & ünïcödé 🚒', -122.419416, 37.774929, {
      description: 'line one\nline two\ttabbed, "quoted"', severity: 'urgent', closed: true,
    })
    const edited = await create('edited later', -0.000000001, -89.999999999, { severity: 'info' })
    const patched = await server.app.inject({ method: 'PATCH', url: edited.properties.url, headers: auth, payload: { properties: { description: 'changed' } } })
    expect(patched.statusCode, patched.body).toBe(200)

    const page = await json<IncidentRowsPage>('/api/incidents/rows')
    expect(page.columns).toEqual([...INCIDENT_ROW_COLUMNS])
    expect(page.next_cursor).toBeNull()
    const features = await json<Collection>('/api/incidents')
    expect(page.rows.map(incidentFromRow)).toEqual(features.features)
    expect(page.rows.map(incidentFromRow)[2]!.properties).toMatchObject({ version: 2, description: 'changed', reporter: expect.any(String) })
  })

  it('is an empty page when there is nothing', async () => {
    expect(await json<IncidentRowsPage>('/api/incidents/rows')).toEqual({ columns: [...INCIDENT_ROW_COLUMNS], rows: [], next_cursor: null })
    expect(await json<PageCursors>('/api/incidents/cursors?limit=10')).toEqual({ cursors: [null] })
  })

  it('filters and pages like GET /api/incidents', async () => {
    for (let i = 0; i < 11; i++) await create(`n${i}`, i, -i, { severity: i % 3 === 0 ? 'urgent' : 'low', closed: i % 4 === 0 })
    for (const query of ['limit=3', 'severity=urgent&limit=2', 'bbox=2,-8,8,0&closed=false', 'severity=low&severity=urgent&closed=true']) {
      let cursor: number | null = null
      do {
        const suffix = cursor === null ? '' : `&cursor=${cursor}`
        const rows: IncidentRowsPage = await json<IncidentRowsPage>(`/api/incidents/rows?${query}${suffix}`)
        const features = await json<Collection>(`/api/incidents?${query}${suffix}`)
        expect(rowIds(rows), query).toEqual(featureIds(features))
        expect(rows.next_cursor, query).toBe(features.next_cursor)
        cursor = rows.next_cursor
      } while (cursor !== null)
    }
  })

  it('gives the cursor of every page, so that fetching them all at once yields every incident exactly once', async () => {
    const created: number[] = []
    for (let i = 0; i < 11; i++) created.push((await create(`n${i}`, i, i, { severity: i % 3 === 0 ? 'urgent' : 'low' })).properties.id)

    const { cursors } = await json<PageCursors>('/api/incidents/cursors?limit=3')
    // each cursor is the id of the last incident of the page before
    expect(cursors).toEqual([null, created[2], created[5], created[8]])
    const pages = await Promise.all(cursors.map((c) => json<IncidentRowsPage>(`/api/incidents/rows?limit=3${c === null ? '' : `&cursor=${c}`}`)))
    expect(pages.flatMap(rowIds)).toEqual(created)
    expect(pages.at(-1)!.next_cursor).toBeNull()

    // a last page that is exactly full starts no empty page after it
    expect((await json<PageCursors>('/api/incidents/cursors?limit=11')).cursors).toEqual([null])
    expect((await json<PageCursors>('/api/incidents/cursors?limit=1')).cursors).toEqual([null, ...created.slice(0, -1)])
    // at most `pages`: the first ones
    expect((await json<PageCursors>('/api/incidents/cursors?limit=3&pages=2')).cursors).toEqual([null, created[2]])
    // the same filters as the list
    const urgent = created.filter((_, i) => i % 3 === 0)
    expect((await json<PageCursors>('/api/incidents/cursors?limit=2&severity=urgent')).cursors).toEqual([null, urgent[1]])
  })

  it('refuses a bad query with a problem naming the field', async () => {
    for (const url of ['/api/incidents/rows?limit=0', '/api/incidents/rows?bbox=1,2,3', '/api/incidents/cursors?limit=3&pages=0', '/api/incidents/cursors?severity=severe']) {
      const response = await get(url)
      expect(response.statusCode, url).toBe(400)
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    }
  })

  it('is documented in the OpenAPI document', async () => {
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>('/docs/json')
    expect(Object.keys(doc.paths['/api/incidents/rows'] ?? {})).toEqual(['get'])
    expect(Object.keys(doc.paths['/api/incidents/cursors'] ?? {})).toEqual(['get'])
  })
})
