import { afterAll, beforeAll, describe, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from '../helpers/test-server.ts'

describe.each(['pglite', 'postgres'] as const)('explore %s', (backend) => {
  let server: TestServer
  let key: string
  beforeAll(async () => { server = await startTestServer(backend); key = (await server.user('operator')).key })
  afterAll(() => server?.close())
  it('explore', async () => {
    const sq = [[[0,0],[1,0],[1,1],[0,1],[0,0]]]
    const cases: [string, string, unknown][] = [
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [200, 0] }, properties: { name: 'x' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: ['NaN', 0] }, properties: { name: 'x' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [null, 0] }, properties: { name: 'x' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2, 3] }, properties: { name: 'x' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Polygon', coordinates: sq }, properties: { name: 'x' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: null, properties: { name: 'x' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { name: 'x', severity: 'critical' } }],
      ['POST', '/api/incidents', { name: 'x', severity: 'critical', location: { lon: 1, lat: 2 } }],
      ['POST', '/api/incidents', { name: 'x', location: { lon: 1, lat: 95 } }],
      ['POST', '/api/incidents', { name: 'x', location: { lon: '1', lat: 5 } }],
      ['POST', '/api/incidents', { name: 'x', foo: 1, location: { lon: 1, lat: 5 } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { name: 'x', foo: 'bar' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { name: 'a\u0000b' } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { name: 'x'.repeat(151) } }],
      ['POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { name: 5 } }],
      ['POST', '/api/incidents', [1, 2]],
      ['POST', '/api/incidents', 'hello'],
      ['POST', '/api/incidents', null],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[1,1],[1,0],[0,1],[0,0]]] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Point', coordinates: [0,0] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[1,1],[1,0],[0,1]]] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[1,1],[0,0]]] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[0,0],[0,0],[0,0]]] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'MultiPolygon', coordinates: [sq, sq] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'MultiPolygon', coordinates: [[[[0,0],[200,0],[1,1],[0,0]]]] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[1,0],[1,1],[0,1],[0,0]], [[5,5],[6,5],[6,6],[5,5]]] }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: sq }, properties: { name: 'x', severity: 'nope' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Circle', coordinates: sq }, properties: { name: 'x' } }],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[1e-300,0],[1e-300,1e-300],[0,0]]] }, properties: { name: 'x' } }],
      ['GET', '/api/incidents?bbox=1,2,3', undefined],
      ['GET', '/api/incidents?severity=critical', undefined],
      ['GET', '/api/incidents?limit=abc', undefined],
      ['GET', '/api/incidents?limit=0', undefined],
      ['GET', '/api/incidents?closed=maybe', undefined],
      ['GET', '/api/incidents?since=yesterday', undefined],
      ['GET', '/api/incidents?cursor=-1', undefined],
      ['GET', '/api/incidents?foo=1', undefined],
      ['GET', '/api/incidents?limit=1&limit=2', undefined],
      ['GET', '/api/incidents?cursor=99999999999', undefined],
      ['GET', '/api/incidents?since=2020-01-01T00:00:00Z&since=x', undefined],
      ['GET', '/api/incidents/abc', undefined],
      ['GET', '/api/incidents/99999999999', undefined],
      ['PATCH', '/api/incidents/1', { properties: { version: '1' } }],
      ['PATCH', '/api/incidents/1', { geometry: { type: 'Point', coordinates: [0, -91] } }],
      ['PATCH', '/api/areas/1', { geometry: { type: 'Polygon', coordinates: [[[0,0],[1,1],[1,0],[0,1],[0,0]]] } }],
    ]
    for (const [method, url, payload] of cases) {
      const r = await server.app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload !== undefined && { payload: payload as object }) })
      console.log(method, url, JSON.stringify(payload)?.slice(0, 120), '\n   =>', r.statusCode, r.headers['content-type'], r.body.slice(0, 400))
    }
    const raw = [
      ['POST', '/api/incidents', '{"type":"Feature","geometry":{"type":"Point","coordinates":[1e999,0]},"properties":{"name":"x"}}'],
      ['POST', '/api/incidents', '{"type":'],
      ['POST', '/api/incidents', 'x'.repeat(1024*1024+10)],
      ['POST', '/api/incidents', '{"name":"' + 'x'.repeat(1024*1024) + '"}'],
    ]
    for (const [method, url, payload] of raw) {
      const r = await server.app.inject({ method: method as 'POST', url, headers: { ...bearer(key), 'content-type': 'application/json' }, payload })
      console.log(method, url, payload!.slice(0, 120), '\n   =>', r.statusCode, r.headers['content-type'], r.body.slice(0, 400))
    }
    const r = await server.app.inject({ method: 'POST', url: '/api/incidents', headers: { ...bearer(key), 'content-type': 'text/plain' }, payload: 'hi' })
    console.log('text/plain =>', r.statusCode, r.headers['content-type'], r.body.slice(0, 400))
  })
})
