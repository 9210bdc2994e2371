import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BACKENDS, startTestServer, type TestServer } from '../../helpers/test-server.ts'
import { signIn } from '../../helpers/sign-in.ts'
import { upgradeAndStall } from '../../helpers/stalled-socket.ts'

// Session keys are bearer credentials: whoever reads a log must not be able
// to sign in with what they find there.

describe.each(BACKENDS)('session keys in logs on %s', (backend) => {
  let server: TestServer
  let port: number

  beforeAll(async () => {
    server = await startTestServer(backend, { LOG_LEVEL: 'trace' })
    port = Number(new URL(await server.listen()).port)
  })
  afterAll(() => server?.close())

  /** the status of a GET of this request target, sent as it is over HTTP (inject and fetch would drop a `#` and what follows) */
  const statusOf = (path: string) =>
    new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path }, (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode!))
      }).on('error', reject)
    })

  it('refuses an upgrade on any route but /ws, before anything logs its URL with the key', async () => {
    const user = await server.user('viewer')
    for (const path of [`/?session_key=${user.key}`, `/api/health?session_key=${user.key}`, `/api/me?session_key=${user.key}`]) {
      const answer = await upgradeAndStall(`ws://127.0.0.1:${port}${path}`)
      expect(answer.status === 'refused' && answer.code, path).toBe(400)
      if (answer.status === 'refused') expect(JSON.parse(answer.body).detail).toContain('the live socket is /ws')
    }
    expect(server.logs.join('')).not.toContain(user.key)
  })

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
    const fresh = (await signIn(server.app, user.username, user.password)).key

    const logs = server.logs.join('')
    expect(logs).toContain('/api/incidents?session_key=[REDACTED]&limit=1')
    expect(logs).toContain('incoming request')
    for (const secret of [user.key, bogus, fresh, user.password]) expect(logs).not.toContain(secret)
  })

  // The query-string parser decodes names, and the router starts a query at
  // `#` as at `?`: these all authenticate, and were logged in clear.
  it.each([
    ['?session%5Fkey=', true],
    ['?session%5fkey=', true],
    ['?%73ession_key=', true],
    ['?%73%65%73%73%69%6F%6E%5F%6B%65%79=', true],
    ['?limit=1&session_k%65y=', true],
    ['#session_key=', true],
    // near misses: they do not authenticate, but a key is in them all the same
    ['?Session_Key=', false],
    ['?session+key=', false],
    ['?session%20key=', false],
    ['?session%255Fkey=', false],
    ['?session_key%00=', false],
    ['?limit=1;session_key=', false],
    ['?limit=1#session_key=', false],
    [';session_key=', false],
  ])('redacts the key sent as %s (authenticates: %s)', async (prefix, authenticates) => {
    const user = await server.user('viewer')
    const status = await statusOf(`/api/me${prefix}${user.key}`)
    if (authenticates) expect(status).toBe(200)
    else expect(status).not.toBe(200)
    const logs = server.logs.join('')
    expect(logs).not.toContain(user.key)
    expect(logs).toContain(`${prefix.slice(0, -1)}=[REDACTED]`)
  })

  /** a spelling of the name: each character as it is, in upper case, or percent-encoded (either hex case) */
  const spelling = fc.tuple(...[...'session_key'].map((c) => {
    const hex = c.charCodeAt(0).toString(16)
    return fc.oneof(
      { arbitrary: fc.constant(c), weight: 8 },
      { arbitrary: fc.constantFrom(`%${hex.toUpperCase()}`, `%${hex}`), weight: 3 },
      { arbitrary: fc.constant(c === '_' ? '+' : c.toUpperCase()), weight: 1 },
    )
  })).map((chars) => chars.join(''))
  const before = fc.constantFrom('?', '#', '?limit=1&', '?x=%26&', '?x=1;', '?x=1#')
  const after = fc.constantFrom('', '&limit=1', '#frag', ';x=1', '&x=%3D')

  it('redacts every spelling the parser accepts, and the near misses, and the key authenticates exactly when the parser reads the name', () =>
    fc.assert(
      fc.asyncProperty(spelling, before, after, async (name, head, tail) => {
        const user = await server.user('viewer')
        const url = `/api/me${head}${name}=${user.key}${tail}`
        // what the router and the parser make of it: the query starts at the first `?` or `#`,
        // `&` alone separates, `+` is a space, names are percent-decoded, a value runs to the next `&`
        const query = url.slice(url.search(/[?#]/) + 1)
        const named = query.split('&').filter((pair) => decodeURIComponent(pair.split('=')[0]!.replace(/\+/g, ' ')) === 'session_key')
        const authenticates = named.length === 1 && named[0]!.slice(named[0]!.indexOf('=') + 1) === user.key
        const status = await statusOf(url)
        expect(status === 200, `${url}: ${status}`).toBe(authenticates)
        expect(server.logs.join('')).not.toContain(user.key)
      }),
      { numRuns: 40 },
    ))
})
