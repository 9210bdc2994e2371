import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify from 'fastify'
import fastifyHelmet from '@fastify/helmet'
import { helmetOptions, type SecurityHeadersOptions } from '../../../../../server/plugins/external/security-headers.ts'
import { attemptSignIn } from '../../../../helpers/sign-in.ts'
import { BACKENDS, bearer, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { connect, refusedStatus } from '../../../../helpers/ws-client.ts'

// Each security setting tested for its effect: remove what it does and a test here fails.

/** What @fastify/helmet, given the same options, sets on an answer: the headers ours must give, worked out once. */
async function helmetReference(options: SecurityHeadersOptions): Promise<Record<string, string>> {
  const app = Fastify()
  await app.register(fastifyHelmet, helmetOptions(options))
  app.get('/', async () => 'ok')
  try {
    const { headers } = await app.inject({ method: 'GET', url: '/' })
    const { 'content-type': _type, 'content-length': _length, date: _date, connection: _connection, ...set } = headers
    return set as Record<string, string>
  } finally {
    await app.close()
  }
}

/** The reference's headers on an answer, every one with its value. */
async function expectHelmetHeaders(response: Response, options: SecurityHeadersOptions) {
  const reference = await helmetReference(options)
  expect(Object.keys(reference).length).toBeGreaterThan(8)
  for (const [name, value] of Object.entries(reference)) expect(response.headers.get(name), name).toBe(value)
}

describe.each(BACKENDS)('security headers and same-origin writes on %s', (backend) => {
  let server: TestServer
  let http: string
  let viewer: TestUser

  beforeAll(async () => {
    server = await startTestServer(backend, { TILE_URL: 'https://{s}.tiles.example.org/{z}/{x}/{y}.png' })
    http = await server.listen()
    viewer = await server.user('viewer')
  })
  afterAll(() => server?.close())

  const directives = (csp: string) => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]))

  it('serves the dashboard with a CSP that allows no inline or foreign script, and no framing', async () => {
    const page = await fetch(`${http}/`)
    expect(page.status).toBe(200)
    const csp = directives(page.headers.get('content-security-policy')!)
    expect(csp.get('script-src')).toEqual(["'self'"])
    expect(csp.get('script-src-attr')).toEqual(["'none'"])
    expect(csp.get('object-src')).toEqual(["'none'"])
    expect(csp.get('frame-ancestors')).toEqual(["'none'"])
    expect(csp.get('connect-src')).toEqual(["'self'"])
    // the base map's tiles, and nothing else foreign
    expect(csp.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'https://*.tiles.example.org'])
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    // the page's own script is a file, never inline
    expect(await page.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
  })

  it('gives an API answer, a refusal and a save every header helmet gives for the same options', async () => {
    const options = { tileUrl: 'https://{s}.tiles.example.org/{z}/{x}/{y}.png', https: false }
    await expectHelmetHeaders(await fetch(`${http}/api/health`), options)
    await expectHelmetHeaders(await fetch(`${http}/api/incidents`), options)
    const operator = await server.user('operator')
    const save = await fetch(`${http}/api/incidents`, {
      method: 'POST',
      headers: { ...bearer(operator.key), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'headers', location: { lon: 1, lat: 1 } }),
    })
    expect(save.status).toBe(201)
    await expectHelmetHeaders(save, options)
  })

  it('keeps API answers out of caches (errors too), while the dashboard files keep their own caching', async () => {
    for (const [url, headers] of [['/api/incidents', bearer(viewer.key)], ['/api/incidents', {}], ['/api/health', {}], ['/api/no-such', {}]] as const) {
      const response = await fetch(`${http}${url}`, { headers })
      expect(response.headers.get('cache-control'), url).toBe('no-store')
      expect(response.headers.get('x-content-type-options'), url).toBe('nosniff')
    }
    expect((await fetch(`${http}/`)).headers.get('cache-control')).not.toBe('no-store')
  })

  it('gives Swagger UI its own CSP, which allows its scripts by hash and no framing', async () => {
    const docs = await fetch(`${http}/docs/static/index.html`)
    expect(docs.status).toBe(200)
    const csp = directives(docs.headers.get('content-security-policy')!)
    expect(csp.get('frame-ancestors')).toEqual(["'none'"])
    expect(csp.get('script-src')).not.toContain("'unsafe-inline'")
  })

  it('refuses a sign-out from a page of another origin (another port of this host is the same site), and keeps the session', async () => {
    const user = await server.user('viewer')
    const url = new URL(http)
    const otherPort = `http://${url.hostname}:${Number(url.port) + 1}`
    const signOut = (headers: Record<string, string>) => fetch(`${http}/api/auth/logout`, { method: 'POST', headers: { cookie: `session=${user.key}`, ...headers } })

    const fromOtherPort = await signOut({ origin: otherPort })
    expect(fromOtherPort.status).toBe(403)
    expect((await fromOtherPort.json()).detail).toContain(otherPort)
    // a browser that sends no Origin still says where the request came from
    expect((await signOut({ 'sec-fetch-site': 'same-site' })).status).toBe(403)
    expect((await signOut({ 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await fetch(`${http}/api/me`, { headers: bearer(user.key) })).status).toBe(200)

    expect((await signOut({ origin: http, 'sec-fetch-site': 'same-origin' })).status).toBe(204)
    expect((await fetch(`${http}/api/me`, { headers: bearer(user.key) })).status).toBe(401)
  })

  it('refuses other writes from a foreign page too, before they act', async () => {
    const operator = await server.user('operator')
    const before = (await server.app.incidents.list({ limit: 10_000 })).features.length
    const response = await fetch(`${http}/api/incidents`, {
      method: 'POST',
      headers: { cookie: `session=${operator.key}`, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'planted', location: { lon: 1, lat: 1 } }),
    })
    expect(response.status).toBe(403)
    expect((await server.app.incidents.list({ limit: 10_000 })).features.length).toBe(before)
  })

  it('refuses a cookie-authenticated upgrade with no Origin (browsers always send one) or a foreign one', async () => {
    const ws = http.replace('http', 'ws')
    expect(await refusedStatus(`${ws}/ws`, { cookie: `session=${viewer.key}` })).toBe(403)
    expect(await refusedStatus(`${ws}/ws`, { cookie: `session=${viewer.key}`, origin: 'https://evil.example' })).toBe(403)
    const own = await connect(`${ws}/ws`, { cookie: `session=${viewer.key}`, origin: http })
    own.close()
    // a key in a header is not something a browser sends by itself: no Origin needed
    const scripted = await connect(`${ws}/ws`, bearer(viewer.key))
    scripted.close()
  })

  it('does not mark the session cookie Secure unless told to (COOKIE_SECURE)', async () => {
    const login = await attemptSignIn(server.app, viewer.username, viewer.password)
    expect(login.status).toBe(200)
    expect(login.cookies.find((c) => c.name === 'session')?.secure).toBeFalsy()
    expect(login.headers['strict-transport-security']).toBeUndefined()
  })
})

describe('deployment settings', () => {
  let server: TestServer
  let http: string
  let viewer: TestUser

  beforeAll(async () => {
    server = await startTestServer('pglite', { ALLOWED_ORIGINS: 'https://ops.example.org, https://wall.example.org/', COOKIE_SECURE: 'true' })
    http = await server.listen()
    viewer = await server.user('viewer')
  })
  afterAll(() => server?.close())

  it('COOKIE_SECURE marks the session cookie Secure and tells browsers to stay on HTTPS', async () => {
    const login = await attemptSignIn(server.app, viewer.username, viewer.password)
    expect(login.status).toBe(200)
    expect(login.cookies.find((c) => c.name === 'session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' })
    expect(login.headers['strict-transport-security']).toMatch(/max-age=\d+/)
    await expectHelmetHeaders(await fetch(`${http}/api/health`), { tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', https: true })
  })

  it('ALLOWED_ORIGINS is the whole list of pages that may use the cookie: on the socket and for writes', async () => {
    const ws = http.replace('http', 'ws')
    for (const origin of ['https://ops.example.org', 'https://wall.example.org']) {
      const socket = await connect(`${ws}/ws`, { cookie: `session=${viewer.key}`, origin })
      socket.close()
    }
    // the server's own origin is not on the list, so it is refused like any other
    expect(await refusedStatus(`${ws}/ws`, { cookie: `session=${viewer.key}`, origin: http })).toBe(403)
    expect(await refusedStatus(`${ws}/ws`, { cookie: `session=${viewer.key}`, origin: 'https://ops.example.org.evil.example' })).toBe(403)

    const user = await server.user('viewer')
    const signOut = (origin: string) => fetch(`${http}/api/auth/logout`, { method: 'POST', headers: { cookie: `session=${user.key}`, origin } })
    expect((await signOut(http)).status).toBe(403)
    expect((await signOut('https://wall.example.org')).status).toBe(204)
  })
})
