import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { IncidentFeature } from '../../../../../contracts/features.ts'
import { MAX_SEARCH_LENGTH } from '../../../../../contracts/incident-search.ts'
import { incidentFromRow, type IncidentRowsPage, type PageCursors } from '../../../../../contracts/incident-rows.ts'
import { BACKENDS, bearer, point, startTestServer, type TestServer } from '../../../../helpers/test-server.ts'
import { expectCleanProblem, expectNamesField } from '../../../../helpers/problem-checks.ts'

// `q` on GET /api/incidents (and /rows, /cursors): the incidents whose name
// or description contains the text, ignoring case, part of a word too; the
// text is matched literally (% and _ are not wildcards); served by the
// trigram indexes on both backends.

interface Collection {
  features: IncidentFeature[]
  next_cursor: number | null
}

describe.each(BACKENDS)('searching incidents by text on %s', (backend) => {
  let server: TestServer
  let auth: Record<string, string>

  beforeAll(async () => {
    server = await startTestServer(backend)
    auth = bearer((await server.user('viewer')).key)
  })
  afterAll(() => server?.close())

  beforeEach(async () => {
    await server.app.db.deleteFrom('incidents').execute()
  })

  async function create(name: string, description = ''): Promise<number> {
    const feature = await server.app.incidents.create({ name, description, geometry: point(2.35, 48.85) }, null)
    return feature.properties.id
  }
  async function names(url: string): Promise<string[]> {
    const response = await server.app.inject({ method: 'GET', url, headers: auth })
    expect(response.statusCode, response.body).toBe(200)
    return response.json<Collection>().features.map((f) => f.properties.name)
  }
  const search = (text: string, more = '') => names(`/api/incidents?q=${encodeURIComponent(text)}${more}`)

  it('finds a part of a word in the name, whatever its case', async () => {
    await create('Wildfire on the ridge')
    await create('FIRE alarm')
    await create('Flooded underpass')
    expect(await search('fire')).toEqual(['Wildfire on the ridge', 'FIRE alarm'])
    expect(await search('FIre')).toEqual(['Wildfire on the ridge', 'FIRE alarm'])
    expect(await search('ood')).toEqual(['Flooded underpass'])
    expect(await search('smoke')).toEqual([])
  })

  it('finds the text in the description too', async () => {
    await create('Road closed', 'a wildfire crossed the road')
    await create('Power cut', 'no smoke involved')
    expect(await search('fire')).toEqual(['Road closed'])
  })

  it('matches % and _ literally, and a backslash as itself', async () => {
    await create('Water 100% cut')
    await create('Water 1000 cut')
    await create('a_b')
    await create('axb')
    await create('back\\slash')
    expect(await search('100%')).toEqual(['Water 100% cut'])
    expect(await search('%')).toEqual(['Water 100% cut'])
    expect(await search('a_b')).toEqual(['a_b'])
    expect(await search('_')).toEqual(['a_b'])
    expect(await search('k\\s')).toEqual(['back\\slash'])
  })

  it('combines with the other filters and pages like the rest of the list', async () => {
    const ids: number[] = []
    for (let i = 0; i < 5; i++) ids.push(await create(`Fire ${i}`))
    await create('Flood')
    await server.app.incidents.update(ids[1]!, { closed: true })
    expect(await search('fire', '&closed=false')).toEqual(['Fire 0', 'Fire 2', 'Fire 3', 'Fire 4'])

    const first = await server.app.inject({ method: 'GET', url: '/api/incidents?q=fire&limit=2', headers: auth })
    const page = first.json<Collection>()
    expect(page.features.map((f) => f.properties.name)).toEqual(['Fire 0', 'Fire 1'])
    expect(await search('fire', `&limit=2&cursor=${page.next_cursor}`)).toEqual(['Fire 2', 'Fire 3'])

    const rows = await server.app.inject({ method: 'GET', url: '/api/incidents/rows?q=fire', headers: auth })
    expect(rows.json<IncidentRowsPage>().rows.map((row) => incidentFromRow(row).properties.name)).toEqual(['Fire 0', 'Fire 1', 'Fire 2', 'Fire 3', 'Fire 4'])
    const cursors = await server.app.inject({ method: 'GET', url: '/api/incidents/cursors?q=fire&limit=2', headers: auth })
    expect(cursors.json<PageCursors>().cursors).toEqual([null, ids[1], ids[3]])
  })

  it('is served by the trigram indexes', async () => {
    for (let i = 0; i < 20; i++) await create(`Incident ${i}`, i === 7 ? 'Wildfire' : '')
    // with a sequential scan ruled out, the plan shows which index can serve the search
    const plan = await server.app.db.connection().execute(async (db) => {
      await sql`SET enable_seqscan = off`.execute(db)
      try {
        const explained = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT id FROM incidents WHERE name ILIKE '%fire%' OR description ILIKE '%fire%'`.execute(db)
        return explained.rows.map((r) => r['QUERY PLAN']).join('\n')
      } finally {
        await sql`RESET enable_seqscan`.execute(db)
      }
    })
    expect(plan).toContain('incidents_name_trgm')
    expect(plan).toContain('incidents_description_trgm')
    expect(await search('fire')).toEqual(['Incident 7'])
  })

  it('refuses an empty or too long text with a problem naming q and its value', async () => {
    const long = 'x'.repeat(MAX_SEARCH_LENGTH + 1)
    for (const [text, url] of [['', '/api/incidents?q='], [long, `/api/incidents?q=${long}`], [long, `/api/incidents/rows?q=${long}`]] as const) {
      const body = expectCleanProblem(await server.app.inject({ method: 'GET', url, headers: auth }), 400)
      expectNamesField(body, '/q', 'querystring')
      expect(body.errors![0]!.value).toBe(text)
    }
    // exactly the longest allowed is fine
    expect(await search('x'.repeat(MAX_SEARCH_LENGTH))).toEqual([])
  })

  it('is documented in the OpenAPI document', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/docs/json' })
    const doc = response.json<{ paths: Record<string, { get: { parameters: { name: string; in: string; schema: { maxLength?: number } }[] } }> }>()
    for (const path of ['/api/incidents', '/api/incidents/rows', '/api/incidents/cursors']) {
      const q = doc.paths[path]!.get.parameters.find((p) => p.name === 'q')
      expect(q, path).toMatchObject({ in: 'query', schema: { maxLength: MAX_SEARCH_LENGTH } })
    }
  })
})
