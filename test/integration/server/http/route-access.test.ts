import { request as httpRequest, Agent } from 'node:http'
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../../../../contracts/users.ts'
import { requireDeclaredAccess, type Access } from '../../../../server/http/route-access.ts'
import { BACKENDS, point, square, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { pathSpellings } from '../../../helpers/path-spellings.ts'

// Access is decided by the route the router matched, never by the URL's text.
// Every route the server has (as Fastify itself lists them) is sent under
// every spelling of its path that a router might read as the same path,
// without a key and with each role too small for it, over real HTTP (so no
// client library tidies the path first). Nothing but a public route may
// answer 2xx without a key; nothing may answer 5xx.

/** The routes anyone may call, and why (docs/security.md says the same). */
const PUBLIC_API = [
  'GET /api/health', // load balancers: counts nothing, names nothing
  'GET /api/client-config', // the base map's tile URL, needed before sign-in
  'POST /api/auth/login',
  'GET /api/auth/session', // "am I signed in?", answers null without a session
  'GET /metrics', // counters only (put behind the proxy's allow-list if even those should stay inside)
  // an alert mail's acknowledge link: its single-use key is the credential (server/routes/acknowledge-page.ts)
  'GET /ack/:key',
  'POST /ack/:key',
  // an invitation: its single-use key is the credential (server/routes/invitation-page.ts, server/routes/api/invitations.ts)
  'GET /invitation/:key',
  'POST /invitation/:key',
  'POST /api/invitations/accept',
]

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

interface Answer {
  status: number
  upgraded: boolean
}

describe.each(BACKENDS)('access decided by the matched route on %s', (backend) => {
  let server: TestServer
  let base: URL
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  const users: Partial<Record<Role, TestUser>> = {}
  /** ids that exist, so a request let through would really act on something */
  const ids: Record<string, number> = {}

  beforeAll(async () => {
    server = await startTestServer(backend)
    base = new URL(await server.listen())
    users.viewer = await server.user('viewer')
    users.operator = await server.user('operator')
    users.admin = await server.admin()
    ids.incidents = (await server.app.incidents.create({ name: 'target', geometry: point(1, 1) }, null)).properties.id
    ids.areas = (await server.app.areas.create({ name: 'target', geometry: square(1, 1, 1) }, null)).properties.id
    ids.users = users.viewer.id
  })
  afterAll(async () => {
    agent.destroy()
    await server?.close()
  })

  function send(method: string, path: string, key?: string, body?: unknown): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        agent, host: base.hostname, port: base.port, method, path,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      })
      req.on('response', (response) => {
        response.resume()
        response.on('end', () => resolve({ status: response.statusCode!, upgraded: false }))
      })
      req.on('error', reject)
      req.end(payload)
    })
  }

  /** An upgrade to a WebSocket, as a browser or a client library would ask for it. */
  function upgrade(path: string, key?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        agent: false, host: base.hostname, port: base.port, path,
        headers: {
          connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
          'sec-websocket-key': randomBytes(16).toString('base64'),
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
      })
      req.on('upgrade', (response, socket) => {
        socket.destroy()
        resolve({ status: response.statusCode!, upgraded: true })
      })
      req.on('response', (response) => {
        response.resume()
        resolve({ status: response.statusCode!, upgraded: false })
      })
      req.on('error', (e) => reject(new Error(`${path}: ${e.message}`)))
      req.end()
    })
  }

  /** The path a route's pattern names, with ids of things that exist. */
  function concrete(url: string): string {
    const resource = url.split('/')[2] ?? ''
    return url.replace(/:id\b/, String(ids[resource] ?? 1)).replace(/\*$/, 'index.html')
  }

  /** A body that would succeed if the request got through: a refusal is then the access check, not validation. */
  function bodyFor(method: string, url: string): unknown {
    const route = `${method} ${url}`
    if (route === 'POST /api/users') return { username: `intruder${randomBytes(3).toString('hex')}`, password: 'password-123', role: 'admin' }
    if (route === 'PATCH /api/users/:id') return { role: 'admin' }
    if (route === 'POST /api/incidents') return { name: 'x', location: { lon: 1, lat: 1 } }
    if (route === 'PATCH /api/incidents/:id') return { properties: { closed: true } }
    if (route === 'POST /api/areas') return { type: 'Feature', properties: { name: 'zone' }, geometry: square(0, 0, 1) }
    if (route === 'PATCH /api/areas/:id') return { properties: { severity: 'high' } }
    if (route === 'POST /api/invitations') return { email: `intruder${randomBytes(3).toString('hex')}@example.test`, role: 'admin' }
    if (route === 'PUT /api/me/subscription') return { email_alerts: false, min_severity: 'low', areas: 'all' }
    if (route === 'POST /api/webhooks') return { url: 'http://192.0.2.1/hook' }
    if (method === 'POST' || method === 'PATCH' || method === 'PUT') return {}
    return undefined
  }

  it('lists every route with its access, and only the expected ones are public', () => {
    const routes = server.app.declaredRoutes()
    // the dashboard's files and the API documentation are public by their scope; everything else says so itself
    const isFileOrDocs = (url: string) => url === '/' || /^\/(index\.html|assets\/|docs(\/|$))/.test(url)
    const publicRoutes = routes.filter((r) => r.access === 'public' && r.method !== 'HEAD' && !isFileOrDocs(r.url))
    expect(publicRoutes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([...PUBLIC_API].sort())
    // and the documented API is all there, each route with a declared access
    const documented = Object.entries(server.app.swagger().paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item ?? {}).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
    const listed = new Set(routes.map((r) => `${r.method} ${r.url}`))
    expect(documented.filter((r) => !listed.has(r))).toEqual([])
  })

  it('answers /%61pi/users (the router reads /api/users) with 401, not the user list', async () => {
    for (const path of ['/%61pi/users', '/ap%69/users', '/%61%70%69/users', '/api/%75sers']) {
      expect(await send('GET', path), path).toEqual({ status: 401, upgraded: false })
      expect(await send('POST', path, undefined, bodyFor('POST', '/api/users')), path).toEqual({ status: 401, upgraded: false })
    }
    expect((await server.app.users.list()).some((u) => u.username.startsWith('intruder'))).toBe(false)
  })

  // thousands of real HTTP requests: more time than the default, on a loaded machine
  it('lets no route answer 2xx without a key or with too small a role, and none 5xx, under any spelling of its path', { timeout: 240_000 }, async () => {
    const failures: string[] = []
    let sent = 0
    for (const route of server.app.declaredRoutes()) {
      if (route.url === '/ws') continue // the socket: next test
      const callers: { name: string; key?: string }[] = [{ name: 'anonymous' }]
      if (route.access !== 'public') {
        for (const role of ['viewer', 'operator'] as Role[]) {
          if (RANK[role] < RANK[route.access as Role]) callers.push({ name: role, key: users[role]!.key })
        }
      }
      const spellings = pathSpellings(concrete(route.url))
      for (const caller of callers) {
        // a handful at a time: the same spelling set for every caller, answered in any order
        for (let i = 0; i < spellings.length; i += 8) {
          const batch = spellings.slice(i, i + 8)
          const answers = await Promise.all(batch.map((path) => send(route.method, path, caller.key, bodyFor(route.method, route.url))))
          answers.forEach((answer, j) => {
            sent++
            const what = `${route.method} ${batch[j]} as ${caller.name} → ${answer.status}`
            if (answer.status >= 500) failures.push(what)
            if (route.access !== 'public' && answer.status < 300) failures.push(what)
          })
        }
      }
    }
    expect(failures).toEqual([])
    expect(sent).toBeGreaterThan(1000)
    // and nothing acted: no user created or promoted, the target incident, area and user untouched
    expect((await server.app.users.list()).filter((u) => u.role === 'admin').map((u) => u.username)).toEqual(['admin'])
    expect((await server.app.incidents.get(ids.incidents!)).properties.closed).toBe(false)
    expect((await server.app.areas.get(ids.areas!)).properties.severity).toBe('medium')
    const made = await Promise.all([server.app.db.selectFrom('invitations').select('id').execute(), server.app.db.selectFrom('webhooks').select('id').execute()])
    expect(made).toEqual([[], []])
  })

  it('upgrades no spelling of /ws without a session, and stays up', async () => {
    const failures: string[] = []
    const spellings = pathSpellings('/ws')
    for (const path of spellings) {
      const answer = await upgrade(path)
      if (answer.upgraded || answer.status >= 500) failures.push(`${path} → ${answer.status}${answer.upgraded ? ' (upgraded)' : ''}`)
    }
    expect(failures).toEqual([])
    expect(spellings.length).toBeGreaterThan(20)
    expect((await send('GET', '/api/health')).status).toBe(200)
    // a session is all it takes, however the path is spelled
    expect(await upgrade('/w%73', users.viewer!.key)).toEqual({ status: 101, upgraded: true })
  })
})

describe('a route that declares no access', () => {
  it('stops the server from starting, naming the route', async () => {
    const app = Fastify()
    await app.register(requireDeclaredAccess)
    app.get('/declared', { config: { access: 'viewer' satisfies Access } }, async () => 'ok')
    app.post('/forgotten', async () => 'open to anyone?')
    await expect(app.ready()).rejects.toThrow(/routes without an access declaration.*POST \/forgotten/)
    await app.close().catch(() => {})
  })
})
