import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, point, square, startTestServer, type TestServer } from '../../helpers/test-server.ts'
import { createDatabase, TEST_DATABASE_URL } from '../../helpers/postgres.ts'
import { tcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.ts'
import { PROBLEM_JSON } from '../../helpers/problem-checks.ts'
import { waitUntil } from '../../helpers/wait.ts'

// The database going away under a running server: a write can only fail, and
// it must fail as an outage (503, when to retry, nothing about the insides),
// not as a bug of ours (500); and the server must work again once the
// database is back, without a restart.
//
// The stand-in: the server reaches PostgreSQL through a TCP proxy this test
// controls. Cutting it refuses new connections and ends the open ones, which
// is what a crashed or restarting PostgreSQL, or a lost network path, looks
// like from the pool (ECONNREFUSED, "Connection terminated unexpectedly").
// It cannot make PostgreSQL itself say 57P01 (admin shutdown) or 08006: the
// unit test of db/unreachable.ts covers those codes.

const OUTAGE_DETAIL = 'the database is unreachable; try again shortly'
/** what the answers must not show: the driver's words, the address, the database */
const INTERNALS = /ECONNREFUSED|ECONNRESET|terminated|127\.0\.0\.1|5432|\bpg\b|postgres|it_\d+/i

describe('a PostgreSQL outage under a running server', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let proxy: TcpProxy
  let server: TestServer
  let auth: Record<string, string>
  let incidentId: number
  let areaId: number

  beforeAll(async () => {
    database = await createDatabase()
    const upstream = new URL(TEST_DATABASE_URL)
    proxy = await tcpProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) })
    const viaProxy = new URL(database.url)
    viaProxy.host = `127.0.0.1:${proxy.port}`
    server = await startTestServer('postgres', { DATABASE_URL: viaProxy.toString() })
    const operator = await server.user('operator')
    auth = bearer(operator.key)
    incidentId = (await server.app.incidents.create({ name: 'before', geometry: point(1, 1) }, operator.id)).properties.id
    areaId = (await server.app.areas.create({ name: 'before', geometry: square(1, 1, 1) }, operator.id)).properties.id
  })
  afterAll(async () => {
    await proxy?.restore().catch(() => {})
    await server?.close()
    await proxy?.close()
    await database?.drop()
  })

  const writes = () => [
    { method: 'POST' as const, url: '/api/incidents', payload: { name: 'during', location: { lon: 2, lat: 2 } } },
    { method: 'PATCH' as const, url: `/api/incidents/${incidentId}`, payload: { properties: { name: 'renamed' } } },
    { method: 'DELETE' as const, url: `/api/incidents/${incidentId}` },
    { method: 'POST' as const, url: '/api/areas', payload: { type: 'Feature', geometry: square(5, 5, 1), properties: { name: 'during' } } },
    { method: 'PATCH' as const, url: `/api/areas/${areaId}`, payload: { properties: { name: 'renamed' } } },
    { method: 'DELETE' as const, url: `/api/areas/${areaId}` },
  ]

  it('answers every write with 503, a Retry-After and a problem that says only that the database is unreachable', async () => {
    await proxy.cut()
    const failuresLogged = () => server.logs.filter((line) => line.includes('"request failed"')).length
    const before = failuresLogged()
    for (const request of [...writes(), { method: 'POST' as const, url: '/api/auth/login', payload: { username: 'admin', password: 'whatever-it-is' } }]) {
      const response = await server.app.inject({ ...request, headers: auth })
      expect(response.statusCode, `${request.method} ${request.url}: ${response.body}`).toBe(503)
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON)
      expect(response.headers['retry-after']).toBe('5')
      expect(response.json()).toEqual({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: OUTAGE_DETAIL })
      expect(response.body).not.toMatch(INTERNALS)
    }
    // an outage is logged as one (a warning naming the cause), not as a failure of ours
    expect(failuresLogged()).toBe(before)
    expect(server.logs.join('')).toContain('the database is unreachable')
  })

  it('works again once the database is back, without a restart', async () => {
    await proxy.restore()
    // refused with 503 until the pool has a connection again
    let created = await server.app.inject({ ...writes()[0]!, headers: auth })
    await waitUntil(async () => {
      if (created.statusCode !== 503) return true
      created = await server.app.inject({ ...writes()[0]!, headers: auth })
      return false
    }, { timeoutMs: 15_000, everyMs: 200, what: 'a save to succeed again' })
    expect(created.statusCode, created.body).toBe(201)
    const renamed = await server.app.inject({ ...writes()[1]!, headers: auth })
    expect(renamed.statusCode, renamed.body).toBe(200)
    expect(renamed.json().properties.name).toBe('renamed')
    const deleted = await server.app.inject({ ...writes()[5]!, headers: auth })
    expect(deleted.statusCode, deleted.body).toBe(204)
  })
})
