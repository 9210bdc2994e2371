import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, startTestServer, type TestServer } from '../helpers/test-server.ts'

// Session keys are bearer credentials: whoever reads a log must not be able
// to sign in with what they find there.

describe.each(BACKENDS)('session keys in logs on %s', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer(backend, { LOG_LEVEL: 'trace' })
  })
  afterAll(() => server?.close())

  it('never writes a key, however it was sent, and still logs the requests', async () => {
    const user = await server.user('operator')
    const bogus = 'B'.repeat(43)
    const requests = [
      { method: 'GET' as const, url: `/api/incidents?session_key=${user.key}&limit=1` },
      { method: 'GET' as const, url: `/api/incidents?limit=1&SESSION_KEY=${user.key}` },
      { method: 'GET' as const, url: `/api/me?session_key=${bogus}` },
      { method: 'GET' as const, url: '/api/me', headers: { authorization: `Bearer ${user.key}` } },
      { method: 'GET' as const, url: '/api/me', headers: { cookie: `session=${user.key}` } },
      { method: 'POST' as const, url: `/api/incidents?session_key=${user.key}`, payload: { name: 'x', location: { lon: 500, lat: 0 } } },
      { method: 'GET' as const, url: `/no/such/route?session_key=${user.key}` },
    ]
    for (const request of requests) await server.app.inject(request)
    const login = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } })
    const fresh = login.json().session_key as string

    const logs = server.logs.join('')
    expect(logs).toContain('/api/incidents?session_key=[REDACTED]&limit=1')
    expect(logs).toContain('incoming request')
    for (const secret of [user.key, bogus, fresh, user.password]) expect(logs).not.toContain(secret)
  })
})
