import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { CreatedWebhook, Webhook } from '../../../../../contracts/deliveries.ts'
import type { Notification, ServerFrame } from '../../../../../contracts/live.ts'
import { buildApp } from '../../../../../server/app.ts'
import { loadConfig } from '../../../../../server/config.ts'
import { ADMIN_PASSWORD, BACKENDS, bearer, freshDatabaseEnv, point, square, startTestServer, type Backend, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../../../helpers/webhook-receiver.ts'
import { connect, readyOf, type LiveClient } from '../../../../helpers/ws-client.ts'
import { expectCleanProblem, expectNamesField } from '../../../../helpers/problem-checks.ts'
import { signIn } from '../../../../helpers/sign-in.ts'
import { waitUntil } from '../../../../helpers/wait.ts'

// Webhooks, with the jobs run inside the server, on both backends: operators
// register endpoints (the signing secret shown once), each alert and each
// change of an alert's state is POSTed to the endpoints whose filters match,
// signed per Standard Webhooks and verified by a real receiver with the
// specification's library; endpoints on internal addresses are refused
// unless WEBHOOK_ALLOWED_HOSTS lists them, at registration and at each send.

const JOBS = { JOBS_IN_PROCESS: 'true', DELIVERY_BACKOFF_MS: '100' }

/** What a webhook is sent for a notification: the socket's frame without its stream position (`id`); `event` names it. */
const withoutStreamId = ({ id: _id, ...rest }: Notification) => rest

describe.each(BACKENDS)('webhooks on %s, jobs in process', (backend) => {
  let server: TestServer
  let operator: TestUser
  let viewer: TestUser
  let live: LiveClient
  let place = 0

  beforeAll(async () => {
    // the receivers listen on loopback: allowed by name, as an operator would allow an internal endpoint
    server = await startTestServer(backend, { ...JOBS, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })
    operator = await server.user('operator')
    viewer = await server.user('viewer')
    const url = (await server.listen()).replace('http', 'ws')
    live = await connect(`${url}/ws?session_key=${viewer.key}`)
    await readyOf(live)
  })
  afterAll(async () => {
    live?.close()
    await server?.close()
  })

  const register = (user: TestUser | undefined, body: unknown) =>
    server.app.inject({ method: 'POST', url: '/api/webhooks', headers: user ? bearer(user.key) : {}, payload: body as object })
  const registered = async (receiver: WebhookReceiver, filter: object = {}) => {
    const response = await register(operator, { url: receiver.url, ...filter })
    expect(response.statusCode, response.body).toBe(201)
    const created = response.json<CreatedWebhook>()
    receiver.trust(created.secret)
    return created
  }
  const settled = () =>
    waitUntil(async () => {
      const counts = await server.app.deliveries.counts()
      return counts.pending === 0 && counts.sending === 0
    }, { what: 'every delivery sent or failed' })

  it('registers an endpoint: the 201 shows its secret, once; GET never shows it; DELETE removes it', async () => {
    const response = await register(operator, { url: 'http://127.0.0.1:9/hook', min_severity: 'urgent' })
    expect(response.statusCode, response.body).toBe(201)
    const created = response.json<CreatedWebhook>()
    expect(created).toEqual({
      id: expect.any(Number),
      url: 'http://127.0.0.1:9/hook',
      min_severity: 'urgent',
      areas: 'all',
      created_by: operator.username,
      created: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    })

    const one = await server.app.inject({ method: 'GET', url: `/api/webhooks/${created.id}`, headers: bearer(operator.key) })
    expect(one.statusCode).toBe(200)
    const { secret: _secret, ...shown } = created
    expect(one.json()).toEqual(shown)
    expect(one.body).not.toContain(created.secret.slice(6))
    const list = await server.app.inject({ method: 'GET', url: '/api/webhooks', headers: bearer(operator.key) })
    expect(list.json<Webhook[]>()).toContainEqual(shown)
    expect(list.body).not.toContain('secret')

    const deleted = await server.app.inject({ method: 'DELETE', url: `/api/webhooks/${created.id}`, headers: bearer(operator.key) })
    expect(deleted.statusCode).toBe(204)
    const gone = await server.app.inject({ method: 'GET', url: `/api/webhooks/${created.id}`, headers: bearer(operator.key) })
    expect(gone.statusCode).toBe(404)
  })

  it('refuses viewers (403) and anyone without a session (401), writing nothing', async () => {
    const before = (await server.app.db.selectFrom('webhooks').select('id').execute()).length
    for (const [user, status] of [[viewer, 403], [undefined, 401]] as const) {
      expect((await register(user, { url: 'http://127.0.0.1:9/hook' })).statusCode).toBe(status)
      const headers = user ? bearer(user.key) : {}
      expect((await server.app.inject({ method: 'GET', url: '/api/webhooks', headers })).statusCode).toBe(status)
      expect((await server.app.inject({ method: 'GET', url: '/api/webhooks/1', headers })).statusCode).toBe(status)
      expect((await server.app.inject({ method: 'DELETE', url: '/api/webhooks/1', headers })).statusCode).toBe(status)
    }
    expect((await server.app.db.selectFrom('webhooks').select('id').execute()).length).toBe(before)
  })

  it('answers bad input with a 400 naming the field and value', async () => {
    const cases: [body: object, field: string][] = [
      [{}, '/url'],
      [{ url: 'ftp://127.0.0.1/hook' }, '/url'],
      [{ url: 'http://127.0.0.1/' + 'a'.repeat(2000) }, '/url'],
      [{ url: 'http://user:pw@127.0.0.1/hook' }, '/url'],
      [{ url: 'http://127.0.0.1/hook', min_severity: 'catastrophic' }, '/min_severity'],
      [{ url: 'http://127.0.0.1/hook', areas: [] }, '/areas'],
      [{ url: 'http://127.0.0.1/hook', areas: 'some' }, '/areas'],
      [{ url: 'http://127.0.0.1/hook', areas: [2_000_000_000] }, '/areas/0'],
      [{ url: 'http://127.0.0.1/hook', secret: 'mine' }, '/secret'],
    ]
    for (const [body, field] of cases) {
      const problem = expectCleanProblem(await register(operator, body), 400)
      expectNamesField(problem, field, 'body')
    }
    const unknownArea = expectCleanProblem(await register(operator, { url: 'http://127.0.0.1/hook', areas: [2_000_000_000] }), 400)
    expect(unknownArea.errors![0]).toMatchObject({ value: 2_000_000_000, message: expect.stringContaining('there is no area 2000000000') })
  })

  it('refuses endpoints on private, loopback and link-local addresses that WEBHOOK_ALLOWED_HOSTS does not list', async () => {
    // 127.0.0.1 is allowed here, by that name: the others are not
    for (const url of ['http://localhost/hook', 'http://[::1]/hook', 'http://10.1.2.3/hook', 'http://192.168.0.1/hook', 'http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0/hook', 'http://[fe80::1]/hook']) {
      const problem = expectCleanProblem(await register(operator, { url }), 400)
      expectNamesField(problem, '/url', 'body')
      expect(problem.errors![0]!.message, url).toMatch(/^url refused: .*(private, loopback or link-local|does not resolve)/)
    }
    expect((await server.app.db.selectFrom('webhooks').select('id').where('url', 'not like', 'http://127.0.0.1:%').execute())).toEqual([])
  })

  it('POSTs each alert and each change of its state, signed, as the socket frame; endpoints whose filters do not match receive nothing', async () => {
    const lon = -140 + 4 * place++
    const area = await server.app.areas.create({ name: 'Harbour', severity: 'low', geometry: square(lon, 20, 1) }, operator.id)
    const other = await server.app.areas.create({ name: 'Airport', severity: 'low', geometry: square(lon + 2.5, 20, 1) }, operator.id)
    const [matching, tooSevere, elsewhere] = await Promise.all([startWebhookReceiver(), startWebhookReceiver(), startWebhookReceiver()])
    try {
      await registered(matching, { min_severity: 'medium', areas: [area.properties.id] })
      await registered(tooSevere, { min_severity: 'urgent', areas: [area.properties.id] })
      await registered(elsewhere, { min_severity: 'info', areas: [other.properties.id] })

      const incident = await server.app.incidents.create({ name: 'Oil spill', severity: 'high', geometry: point(lon, 20) }, operator.id)
      const [alertFrame] = await live.waitFor((f) => f.type === 'alert' && f.feature.properties.id === incident.properties.id)
      const alertId = (alertFrame as Extract<ServerFrame, { type: 'alert' }>).areas_of_interest[0]!.alert_id
      const acknowledged = await server.app.inject({ method: 'POST', url: `/api/alerts/${alertId}/acknowledge`, headers: bearer(operator.key), payload: { note: 'on it' } })
      expect(acknowledged.statusCode, acknowledged.body).toBe(200)
      await live.waitFor((f) => f.type === 'alert_update' && f.alert.id === alertId && f.alert.state === 'acknowledged')
      await settled()

      // every notification about the alert, and nothing else, reached the matching endpoint, each verified by its signature
      const aboutIt = live.frames.filter((f) => (f.type === 'alert' && f.feature.properties.id === incident.properties.id) || (f.type === 'alert_update' && f.alert.id === alertId)) as Notification[]
      expect(matching.rejected).toBe(0)
      // sent side by side, they may arrive in any order: `event` orders them
      const byEvent = (a: { event: number }, b: { event: number }) => a.event - b.event
      expect(matching.received.map((r) => r.body).sort(byEvent)).toEqual(aboutIt.map(withoutStreamId))
      expect(matching.received.map((r) => r.body.type)).toEqual(expect.arrayContaining(['alert', 'alert_update']))
      expect(matching.received.map((r) => r.body).sort(byEvent).at(-1)).toMatchObject({ type: 'alert_update', alert: { id: alertId, state: 'acknowledged', note: 'on it' } })
      expect(matching.received.every((r) => /^msg_delivery_\d+$/.test(r.id))).toBe(true)
      expect(new Set(matching.received.map((r) => r.id)).size).toBe(matching.received.length)

      expect(tooSevere.received).toEqual([])
      expect(elsewhere.received).toEqual([])
      expect(tooSevere.rejected + elsewhere.rejected).toBe(0)
    } finally {
      await Promise.all([matching.close(), tooSevere.close(), elsewhere.close()])
    }
  })
})

describe.each(BACKENDS)('the SSRF guard on %s, at registration and again at each send', (backend) => {
  let database: { env: Record<string, string>; drop: () => Promise<void> }
  let app: FastifyInstance | undefined
  let receiver: WebhookReceiver

  /** The server on this test's database, as deployed with `env`: a restart is a close and a start. */
  async function start(env: Record<string, string>): Promise<FastifyInstance> {
    const config = loadConfig({ ADMIN_PASSWORD, LOG_LEVEL: 'warn', ...database.env, ...JOBS, ...env })
    if (backend === 'pglite') config.dataDir = database.env.PGLITE_DIR!
    const started = await buildApp(config, { logStream: new Writable({ write: (_chunk, _encoding, done) => done() }), announce: () => {} })
    await started.ready()
    return started
  }
  const adminKey = async (on: FastifyInstance) => (await signIn(on, 'admin', ADMIN_PASSWORD)).key

  beforeAll(async () => {
    database = await freshDatabaseEnv(backend as Backend)
    receiver = await startWebhookReceiver()
  })
  afterAll(async () => {
    await app?.close()
    await receiver?.close()
    await database?.drop()
  })

  it('accepts an internal endpoint while WEBHOOK_ALLOWED_HOSTS lists its host, and refuses it, however spelled, once it does not; a webhook registered meanwhile is refused at send time and reaches nothing', async () => {
    app = await start({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })
    let key = await adminKey(app)
    const response = await app.inject({ method: 'POST', url: '/api/webhooks', headers: bearer(key), payload: { url: receiver.url, min_severity: 'info' } })
    expect(response.statusCode, response.body).toBe(201)
    receiver.trust(response.json<CreatedWebhook>().secret)
    await app.close()

    app = await start({})
    key = await adminKey(app)
    // WHATWG URL parsing turns the decimal, octal, hexadecimal and short spellings into 127.0.0.1, and [::ffff:127.0.0.1] into [::ffff:7f00:1]
    for (const url of [
      receiver.url, 'http://127.0.0.1/hook', 'http://localhost/hook', 'http://localhost./hook', 'http://[::1]/hook', 'http://[::ffff:127.0.0.1]/hook',
      'http://[::127.0.0.1]/hook', 'http://[64:ff9b::a00:1]/hook', 'http://2130706433/hook', 'http://0177.0.0.1/hook', 'http://0x7f.1/hook', 'http://127.1/hook',
      'http://10.0.0.1/hook', 'http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0/hook', 'http://0/hook',
    ]) {
      const refused = expectCleanProblem(await app.inject({ method: 'POST', url: '/api/webhooks', headers: bearer(key), payload: { url } }), 400)
      expectNamesField(refused, '/url', 'body')
      expect(refused.errors![0]!.message, url).toMatch(/^url refused: /)
    }
    expect(await app.db.selectFrom('webhooks').select('url').execute()).toEqual([{ url: receiver.url }])

    const area = await app.areas.create({ name: 'Depot', severity: 'info', geometry: square(30, -10, 1) }, null)
    await app.incidents.create({ name: 'Fire', severity: 'urgent', geometry: point(30, -10) }, null)
    const running = app
    await waitUntil(async () => {
      const counts = await running.deliveries.counts()
      return counts.pending === 0 && counts.sending === 0
    }, { what: 'the webhook deliveries to be settled' })
    const deliveries = (await app.deliveries.list({ limit: 10 })).deliveries.filter((d) => d.channel === 'webhook')
    // the alert, and the alert_update that says it opened: each refused once, for good
    expect(deliveries.map((d) => d.kind).sort()).toEqual(['alert', 'alert_update'])
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ state: 'failed', to: receiver.url, attempts: 1, sent: null })
      expect(delivery.last_error).toMatch(/^refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a private, loopback or link-local address/)
    }
    expect(receiver.received).toEqual([])
    expect(receiver.rejected).toBe(0)
    expect(area.properties.name).toBe('Depot')
  })
})
