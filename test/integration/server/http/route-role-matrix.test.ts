import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../../../../contracts/users.ts'
import { generateSessionKey, hashSessionKey } from '../../../../server/auth/session-keys.ts'
import { ADMIN_PASSWORD, BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'

// Every route × every role: who may do what (DESIGN.md "Authentication").

type Caller = 'anonymous' | Role
const CALLERS: Caller[] = ['anonymous', 'viewer', 'operator', 'admin']

interface Route {
  name: string
  /** who gets the success status; everyone else gets 401 (anonymous) or 403 */
  allowed: 'public' | Role
  success: number
  /** builds the request, creating whatever it acts on first */
  request(server: TestServer, caller: TestUser | undefined): Promise<{ method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string; payload?: object }>
}

let seq = 0
const newIncident = async (s: TestServer) => (await s.app.incidents.create({ name: `i${seq++}`, geometry: point(1, 1) }, null)).properties.id
const newArea = async (s: TestServer) => (await s.app.areas.create({ name: `a${seq++}`, geometry: square(1, 1, 1) }, null)).properties.id
const newUser = async (s: TestServer) => (await s.app.users.create(`u${seq++}-${Date.now()}`, 'password-1', 'viewer')).id
/** an open alert: an urgent incident inside a new area */
const newAlert = async (s: TestServer) => {
  const area = await newArea(s)
  const incident = (await s.app.incidents.create({ name: `i${seq++}`, severity: 'urgent', geometry: point(1, 1) }, null)).properties.id
  const { alerts: [alert] } = await s.app.alerts.list({ incident, area, limit: 1 })
  return alert!.id
}
const WEBHOOK_URL = 'http://192.0.2.1/hook'
/** a webhook no alert here matches (only an area far from every incident), at an address the SSRF guard lets through: nothing is sent to it */
const webhookBody = async (s: TestServer) => {
  const faraway = await s.app.areas.create({ name: `far${seq++}`, geometry: square(120, 40, 0.5) }, null)
  return { url: WEBHOOK_URL, min_severity: 'urgent', areas: [faraway.properties.id] }
}
const newWebhook = async (s: TestServer) =>
  (await s.app.db.insertInto('webhooks').values({ url: WEBHOOK_URL, secret: 'whsec_dGVzdA==', min_severity: 'urgent', areas: (await webhookBody(s)).areas, created_by_id: null }).returning('id').executeTakeFirstOrThrow()).id
/** a delivery that failed (to a webhook since deleted: retried, it fails again at once) */
const newFailedDelivery = async (s: TestServer) => {
  const { id: payload_id } = await s.app.db.insertInto('delivery_payloads').values({ payload: '{}' }).returning('id').executeTakeFirstOrThrow()
  return (await s.app.db.insertInto('deliveries').values({ key: `matrix/${seq++}`, kind: 'alert', channel: 'webhook', address: WEBHOOK_URL, payload_id, state: 'failed' }).returning('id').executeTakeFirstOrThrow()).id
}
/** an invitation whose mail went out, with a key the test knows (the mail's link) */
const newSentInvitation = async (s: TestServer) => {
  const key = generateSessionKey()
  const { id } = await s.app.db
    .insertInto('invitations')
    .values({ email: `invitee${seq++}@example.test`, role: 'viewer', key_hash: hashSessionKey(key), invited_by_name: 'admin', expires: new Date(Date.now() + 3_600_000), sends_done: 1, sent: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { id, key }
}
const incidentBody = { name: 'x', location: { lon: 1, lat: 2 } }
const areaBody = { type: 'Feature', properties: { name: 'zone' }, geometry: square(0, 0, 1) }

const ROUTES: Route[] = [
  { name: 'GET /api/health', allowed: 'public', success: 200, request: async () => ({ method: 'GET', url: '/api/health' }) },
  { name: 'GET /api/client-config', allowed: 'public', success: 200, request: async () => ({ method: 'GET', url: '/api/client-config' }) },
  {
    name: 'POST /api/auth/login', allowed: 'public', success: 200,
    request: async () => ({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } }),
  },
  { name: 'GET /api/auth/session', allowed: 'public', success: 200, request: async () => ({ method: 'GET', url: '/api/auth/session' }) },
  { name: 'GET /api/me', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/me' }) },
  { name: 'GET /api/incidents', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/incidents' }) },
  { name: 'GET /api/incidents/rows', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/incidents/rows' }) },
  { name: 'GET /api/incidents/cursors', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/incidents/cursors' }) },
  { name: 'GET /api/incidents/:id', allowed: 'viewer', success: 200, request: async (s) => ({ method: 'GET', url: `/api/incidents/${await newIncident(s)}` }) },
  { name: 'POST /api/incidents', allowed: 'operator', success: 201, request: async () => ({ method: 'POST', url: '/api/incidents', payload: incidentBody }) },
  {
    name: 'PATCH /api/incidents/:id', allowed: 'operator', success: 200,
    request: async (s) => ({ method: 'PATCH', url: `/api/incidents/${await newIncident(s)}`, payload: { properties: { closed: true } } }),
  },
  { name: 'DELETE /api/incidents/:id', allowed: 'operator', success: 204, request: async (s) => ({ method: 'DELETE', url: `/api/incidents/${await newIncident(s)}` }) },
  { name: 'GET /api/areas', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/areas' }) },
  { name: 'GET /api/areas/:id', allowed: 'viewer', success: 200, request: async (s) => ({ method: 'GET', url: `/api/areas/${await newArea(s)}` }) },
  { name: 'POST /api/areas', allowed: 'operator', success: 201, request: async () => ({ method: 'POST', url: '/api/areas', payload: areaBody }) },
  {
    name: 'PATCH /api/areas/:id', allowed: 'operator', success: 200,
    request: async (s) => ({ method: 'PATCH', url: `/api/areas/${await newArea(s)}`, payload: { properties: { severity: 'high' } } }),
  },
  { name: 'DELETE /api/areas/:id', allowed: 'operator', success: 204, request: async (s) => ({ method: 'DELETE', url: `/api/areas/${await newArea(s)}` }) },
  { name: 'GET /api/incidents/:id/history', allowed: 'viewer', success: 200, request: async (s) => ({ method: 'GET', url: `/api/incidents/${await newIncident(s)}/history` }) },
  { name: 'GET /api/areas/:id/history', allowed: 'viewer', success: 200, request: async (s) => ({ method: 'GET', url: `/api/areas/${await newArea(s)}/history` }) },
  { name: 'GET /api/alerts', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/alerts' }) },
  { name: 'GET /api/alerts/summary', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/alerts/summary' }) },
  { name: 'GET /api/alerts/:id', allowed: 'viewer', success: 200, request: async (s) => ({ method: 'GET', url: `/api/alerts/${await newAlert(s)}` }) },
  {
    name: 'POST /api/alerts/:id/acknowledge', allowed: 'operator', success: 200,
    request: async (s) => ({ method: 'POST', url: `/api/alerts/${await newAlert(s)}/acknowledge`, payload: { note: 'mine' } }),
  },
  { name: 'GET /api/users', allowed: 'admin', success: 200, request: async () => ({ method: 'GET', url: '/api/users' }) },
  {
    name: 'POST /api/users', allowed: 'admin', success: 201,
    request: async () => ({ method: 'POST', url: '/api/users', payload: { username: `new${seq++}`, password: 'password-2', role: 'viewer' } }),
  },
  {
    name: 'PATCH /api/users/:id', allowed: 'admin', success: 200,
    request: async (s) => ({ method: 'PATCH', url: `/api/users/${await newUser(s)}`, payload: { role: 'operator' } }),
  },
  { name: 'DELETE /api/users/:id', allowed: 'admin', success: 204, request: async (s) => ({ method: 'DELETE', url: `/api/users/${await newUser(s)}` }) },
  {
    // the same password again: the caller's later requests still sign in with it
    name: 'PUT /api/me/password', allowed: 'viewer', success: 200,
    request: async (_s, caller) => ({ method: 'PUT', url: '/api/me/password', payload: { current_password: caller?.password ?? 'password-0', new_password: caller?.password ?? 'password-0' } }),
  },
  { name: 'GET /api/me/subscription', allowed: 'viewer', success: 200, request: async () => ({ method: 'GET', url: '/api/me/subscription' }) },
  {
    name: 'PUT /api/me/subscription', allowed: 'viewer', success: 200,
    request: async () => ({ method: 'PUT', url: '/api/me/subscription', payload: { email_alerts: false, min_severity: 'low', areas: 'all' } }),
  },
  { name: 'GET /api/webhooks', allowed: 'operator', success: 200, request: async () => ({ method: 'GET', url: '/api/webhooks' }) },
  { name: 'POST /api/webhooks', allowed: 'operator', success: 201, request: async (s) => ({ method: 'POST', url: '/api/webhooks', payload: await webhookBody(s) }) },
  { name: 'GET /api/webhooks/:id', allowed: 'operator', success: 200, request: async (s) => ({ method: 'GET', url: `/api/webhooks/${await newWebhook(s)}` }) },
  { name: 'DELETE /api/webhooks/:id', allowed: 'operator', success: 204, request: async (s) => ({ method: 'DELETE', url: `/api/webhooks/${await newWebhook(s)}` }) },
  { name: 'GET /api/deliveries', allowed: 'admin', success: 200, request: async () => ({ method: 'GET', url: '/api/deliveries' }) },
  {
    name: 'POST /api/deliveries/:id/retry', allowed: 'admin', success: 202,
    request: async (s) => ({ method: 'POST', url: `/api/deliveries/${await newFailedDelivery(s)}/retry` }),
  },
  { name: 'GET /api/invitations', allowed: 'admin', success: 200, request: async () => ({ method: 'GET', url: '/api/invitations' }) },
  {
    name: 'POST /api/invitations', allowed: 'admin', success: 201,
    request: async () => ({ method: 'POST', url: '/api/invitations', payload: { email: `new${seq++}@example.test`, role: 'viewer' } }),
  },
  {
    name: 'POST /api/invitations/:id/resend', allowed: 'admin', success: 202,
    request: async (s) => ({ method: 'POST', url: `/api/invitations/${(await newSentInvitation(s)).id}/resend` }),
  },
  { name: 'DELETE /api/invitations/:id', allowed: 'admin', success: 200, request: async (s) => ({ method: 'DELETE', url: `/api/invitations/${(await newSentInvitation(s)).id}` }) },
  {
    name: 'POST /api/invitations/accept', allowed: 'public', success: 201,
    request: async (s) => ({ method: 'POST', url: '/api/invitations/accept', payload: { key: (await newSentInvitation(s)).key, username: `joined${seq++}`, password: 'password-3' } }),
  },
  // signing out revokes the caller's own session, so each caller signs in afresh for it
  { name: 'POST /api/auth/logout', allowed: 'viewer', success: 204, request: async () => ({ method: 'POST', url: '/api/auth/logout' }) },
]

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

function expectedStatus(route: Route, caller: Caller): number {
  if (route.allowed === 'public') return route.success
  if (caller === 'anonymous') return 401
  return RANK[caller] >= RANK[route.allowed] ? route.success : 403
}

describe.each(BACKENDS)('route × role matrix on %s', (backend) => {
  let server: TestServer
  const users: Partial<Record<Role, TestUser>> = {}

  beforeAll(async () => {
    server = await startTestServer(backend)
    users.viewer = await server.user('viewer')
    users.operator = await server.user('operator')
    users.admin = await server.admin()
  })
  afterAll(() => server?.close())

  const cases = ROUTES.flatMap((route) => CALLERS.map((caller) => ({ route, caller, expected: expectedStatus(route, caller) })))

  it.each(cases)('$route.name as $caller → $expected', async ({ route, caller, expected }) => {
    const user = caller === 'anonymous' ? undefined : users[caller]
    let key = user?.key
    if (route.name === 'POST /api/auth/logout' && user) key = await server.login(user.username, user.password)
    const request = await route.request(server, user)
    const response = await server.app.inject({ ...request, headers: key ? bearer(key) : {} })
    expect(response.statusCode, response.body).toBe(expected)
    if (expected === 401 || expected === 403) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(response.json().status).toBe(expected)
    }
  })

  it('covers every /api route the server documents', () => {
    const documented = Object.entries(server.app.swagger().paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item ?? {})
        .filter((method) => ['get', 'post', 'patch', 'put', 'delete'].includes(method))
        .map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    expect(documented.filter((r) => r.includes(' /api/')).sort()).toEqual(ROUTES.map((r) => r.name).sort())
  })
})
