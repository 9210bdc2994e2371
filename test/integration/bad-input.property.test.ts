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
      ['GET', '/api/incidents?since=2016-12-31T23:59:60Z', undefined],
      ['GET', '/api/incidents?since=2020-01-01T00:00:00%2B23:59', undefined],
      ['GET', '/api/incidents?since=0000-01-01T00:00:00Z', undefined],
      ['GET', '/api/incidents?since=9999-12-31T23:59:59.999999999Z', undefined],
      ['GET', '/api/incidents?since=2020-01-01t00:00:00z', undefined],
      ['GET', '/api/incidents?since=2020-01-01 00:00:00Z', undefined],
      ['GET', '/api/incidents?cursor=2147483648', undefined],
      ['GET', '/api/incidents?cursor=2147483647', undefined],
      ['GET', '/api/incidents?cursor=1.5', undefined],
      ['GET', '/api/incidents?cursor=1e400', undefined],
      ['GET', '/api/incidents?limit=1e400', undefined],
      ['GET', '/api/incidents?severity=', undefined],
      ['GET', '/api/incidents?bbox=', undefined],
      ['GET', '/api/incidents?bbox=0x10,0,20,20', undefined],
      ['GET', '/api/incidents?bbox=-180,-90,180,90&bbox=1,2,3,4', undefined],
      ['GET', '/api/areas?cursor=99999999999', undefined],
      ['PATCH', '/api/incidents/1', { properties: { version: 99999999999 } }],
      ['PATCH', '/api/incidents/1', { properties: { version: 1.5 } }],
      ['PATCH', '/api/incidents/1', { properties: { description: 'a\u0000' } }],
      ['PATCH', '/api/incidents/1', {}],
      ['POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0,0],[1,0],[1,1],[0,1],[0,0]]] }, properties: { name: '\u0000' } }],
    ]
    for (const [method, url, payload] of cases) {
      const r = await server.app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload !== undefined && { payload: payload as object }) })
      console.log(method, url, JSON.stringify(payload)?.slice(0, 120), '\n   =>', r.statusCode, r.headers['content-type'], r.body.slice(0, 400))
    }
    const raw: string[][] = [
      ['PATCH', '/api/incidents/1', '{"properties":{"name":"ok"}}'],
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
