import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AreaFeature } from '../../../../../contracts/features.ts'
import type { Problem } from '../../../../../contracts/problem.ts'
import { BACKENDS, bearer, square, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { expectCleanProblem } from '../../../../helpers/problem-checks.ts'

// An invalid area refused (server/repositories/area-geometry.ts): the 400
// names the geometry, says why in words for the person who drew it, and
// carries where the fault lies (PostGIS's ST_IsValidDetail), so the
// dashboard can mark the spot on the map. Both backends answer alike.

// top-left, bottom-right, top-right, bottom-left: the first and third edges cross at [10.5, 20.5]
const bowTie = { type: 'Polygon', coordinates: [[[10, 21], [11, 20], [11, 21], [10, 20], [10, 21]]] }

describe.each(BACKENDS)('an invalid area geometry on %s', (backend) => {
  let server: TestServer
  let operator: TestUser

  beforeAll(async () => {
    server = await startTestServer(backend)
    operator = await server.user('operator')
  })
  afterAll(() => server?.close())

  const send = (method: 'POST' | 'PATCH', url: string, payload: object) =>
    server.app.inject({ method, url, headers: bearer(operator.key), payload })
  const areaCount = async () => (await server.app.areas.list({ limit: 1000 })).features.length

  it('is refused with where the outline crosses itself, in words for a person, and nothing is saved', async () => {
    const before = await areaCount()
    const response = await send('POST', '/api/areas', { type: 'Feature', geometry: bowTie, properties: { name: 'bow tie' } })
    const body = expectCleanProblem(response, 400) as Problem
    expect(body.detail).toBe('geometry is not a valid Polygon: Self-intersection[10.5 20.5]')
    expect(body.errors).toEqual([
      { field: '/geometry', in: 'body', value: 'Polygon', message: 'the outline crosses itself', location: [10.5, 20.5] },
    ])
    expect(await areaCount()).toBe(before)
  })

  it('refuses redrawing an area as a bow-tie the same way, and keeps the old shape', async () => {
    const created = await send('POST', '/api/areas', { type: 'Feature', geometry: square(0, 0, 1), properties: { name: 'square' } })
    expect(created.statusCode).toBe(201)
    const area = created.json<AreaFeature>()
    const response = await send('PATCH', area.properties.url, { geometry: bowTie, properties: { version: 1 } })
    const body = expectCleanProblem(response, 400) as Problem
    expect(body.errors).toEqual([
      { field: '/geometry', in: 'body', value: 'Polygon', message: 'the outline crosses itself', location: [10.5, 20.5] },
    ])
    expect(await server.app.areas.get(area.properties.id)).toEqual(area)
  })

  it('places a MultiPolygon whose parts overlap where their outlines cross', async () => {
    const geometry = { type: 'MultiPolygon', coordinates: [square(0, 0, 1).coordinates, square(1, 1, 1).coordinates] }
    const body = expectCleanProblem(await send('POST', '/api/areas', { type: 'Feature', geometry, properties: { name: 'overlap' } }), 400) as Problem
    const [error] = body.errors!
    expect(error).toMatchObject({ field: '/geometry', value: 'MultiPolygon', message: 'the outline crosses itself' })
    // one of the two points where the squares' outlines cross
    expect([[1, 0], [0, 1]]).toContainEqual(error!.location)
  })

  it('words a hole outside its outline for a person, and says where', async () => {
    const geometry = { type: 'Polygon', coordinates: [square(0, 0, 1).coordinates[0], square(5, 0, 0.5).coordinates[0]] }
    const body = expectCleanProblem(await send('POST', '/api/areas', { type: 'Feature', geometry, properties: { name: 'hole' } }), 400) as Problem
    expect(body.detail).toMatch(/^geometry is not a valid Polygon: Hole lies outside shell\[/)
    expect(body.errors![0]).toMatchObject({ field: '/geometry', message: 'a hole lies outside the outline', location: expect.any(Array) })
  })
})
