import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert, AlertPage } from '../../../../contracts/alerts.ts'
import type { AreaFeature, IncidentFeature } from '../../../../contracts/features.ts'
import { isNotification, type Notification, type ServerFrame } from '../../../../contracts/live.ts'
import { createDatabase } from '../../../helpers/postgres.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { killAllServers, launchServer, type ServerProcess } from '../../../helpers/server-process.ts'
import { signIn } from '../../../helpers/sign-in.ts'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { connect, readyOf, type LiveClient } from '../../../helpers/ws-client.ts'

// An alert's changes reach every screen as `alert_update` frames, carrying
// the alert as GET /api/alerts/:id shows it: from any instance to clients
// on every instance, and replayed to a client that reconnects with `since`.

const ADMIN_PASSWORD = 'alert-updates-admin-password'

type AlertUpdate = Extract<Notification, { type: 'alert_update' }>
type AlertFrame = Extract<Notification, { type: 'alert' }>
const isAlertUpdate = (alertId: number, state?: Alert['state']) => (frame: ServerFrame): frame is AlertUpdate =>
  frame.type === 'alert_update' && frame.alert.id === alertId && (state === undefined || frame.alert.state === state)

/** The id a client resumes from: the last notification it saw, or its ready frame's id if it saw none. */
const lastSeen = (client: LiveClient) =>
  client.frames.filter(isNotification).at(-1)?.id ?? (client.frames.find((f) => f.type === 'ready') as { id: string }).id

describe('alert updates across two server processes sharing PostgreSQL and Redis', () => {
  let drop: () => Promise<void>
  let a: ServerProcess
  let b: ServerProcess
  let operatorKey: string
  let operator: { id: number; username: string }
  let viewerKey: string
  let place = 0

  beforeAll(async () => {
    const database = await createDatabase()
    drop = database.drop
    const env = { DATABASE_URL: database.url, REDIS_URL: await freshRedisUrl(), ADMIN_PASSWORD, LOGIN_RATE_LIMIT_PER_MINUTE: '1000', LOG_LEVEL: 'warn' }
    // one after the other: the first creates the schema and the admin
    a = await launchServer(env)
    await a.healthy()
    b = await launchServer(env)
    await b.healthy()

    const adminKey = (await signIn(a.url, 'admin', ADMIN_PASSWORD)).key
    for (const [username, role] of [['ana', 'operator'], ['watch', 'viewer']]) {
      const response = await fetch(`${a.url}/api/users`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...bearer(adminKey) },
        body: JSON.stringify({ username, role, password: `${username}-password` }),
      })
      expect(response.status).toBe(201)
    }
    const session = await signIn(a.url, 'ana', 'ana-password')
    operatorKey = session.key
    operator = { id: session.user.id, username: session.user.username }
    viewerKey = (await signIn(b.url, 'watch', 'watch-password')).key
  }, 240_000)

  afterAll(async () => {
    await killAllServers()
    await drop?.()
  }, 60_000)

  const ws = (server: ServerProcess, query = '') => `${server.url.replace('http', 'ws')}/ws${query}`
  async function call<T>(server: ServerProcess, method: string, path: string, key: string, body?: object): Promise<T> {
    const response = await fetch(`${server.url}${path}`, {
      method, headers: { ...bearer(key), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const text = await response.text()
    expect(response.status, text).toBeLessThan(300)
    return JSON.parse(text) as T
  }
  /** An area and an incident inside it, reported through A: the incident and its alert (read through B). */
  async function fireThroughA() {
    const lon = -100 + 3 * place++
    const area = await call<AreaFeature>(a, 'POST', '/api/areas', operatorKey, { type: 'Feature', geometry: square(lon, 0, 1), properties: { name: `zone ${place}`, severity: 'low' } })
    const incident = await call<IncidentFeature>(a, 'POST', '/api/incidents', operatorKey, { type: 'Feature', geometry: point(lon, 0), properties: { name: `fire ${place}`, severity: 'high' } })
    const { alerts } = await call<AlertPage>(b, 'GET', `/api/alerts?incident=${incident.properties.id}`, viewerKey)
    expect(alerts).toHaveLength(1)
    return { area, incident, alert: alerts[0]! }
  }

  it('tells a client on B of an alert fired and acknowledged through A, each alert_update as GET /api/alerts/:id shows it', async () => {
    const watcher = await connect(ws(b), bearer(viewerKey))
    await readyOf(watcher)
    const { area, incident, alert } = await fireThroughA()

    const [fired] = (await watcher.waitFor((f) => f.type === 'alert' && f.feature.properties.id === incident.properties.id)) as AlertFrame[]
    expect(fired!.areas_of_interest).toEqual([{ id: area.properties.id, name: area.properties.name, severity: 'low', url: area.properties.url, alert_id: alert.id }])
    expect(fired!.feature.properties).toMatchObject({ reporter: 'ana', updated_by: 'ana' })
    const [opened] = (await watcher.waitFor(isAlertUpdate(alert.id, 'open'))) as AlertUpdate[]
    expect(opened!.alert).toEqual(alert)

    const taken = await call<Alert>(a, 'POST', `/api/alerts/${alert.id}/acknowledge`, operatorKey, { note: 'units rolling' })
    const [update] = (await watcher.waitFor(isAlertUpdate(alert.id, 'acknowledged'))) as AlertUpdate[]
    expect(update).toEqual({ id: expect.any(String), event: expect.any(Number), type: 'alert_update', alert: await call<Alert>(b, 'GET', `/api/alerts/${alert.id}`, viewerKey) })
    expect(update!.alert).toEqual(taken)
    expect(update!.alert).toMatchObject({ state: 'acknowledged', acknowledged_by: operator, note: 'units rolling' })
    // the fired, opened and acknowledged frames in that order, each once
    const about = watcher.frames.filter((f) => (f.type === 'alert' && f.feature.properties.id === incident.properties.id) || isAlertUpdate(alert.id)(f))
    expect(about.map((f) => (f.type === 'alert_update' ? f.alert.state : f.type))).toEqual(['alert', 'open', 'acknowledged'])
    watcher.close()
  })

  it('replays to a client reconnecting to B with since and epoch the acknowledgements made through A while it was away', async () => {
    const client = await connect(ws(b), bearer(viewerKey))
    const ready = await readyOf(client)
    expect(ready.epoch).toEqual(expect.any(String))
    const first = await fireThroughA()
    const second = await fireThroughA()
    // once B has sent it what the reports said, its place to resume from is after them
    await client.waitFor(isAlertUpdate(second.alert.id, 'open'))
    const since = lastSeen(client)
    client.close()
    await client.closed

    const taken = [
      await call<Alert>(a, 'POST', `/api/alerts/${first.alert.id}/acknowledge`, operatorKey, { note: 'first' }),
      await call<Alert>(a, 'POST', `/api/alerts/${second.alert.id}/acknowledge`, operatorKey),
    ]
    const back = await connect(ws(b, `?since=${since}&epoch=${ready.epoch}`), bearer(viewerKey))
    const missed = await back.waitFor(isNotification, 2)
    expect(missed.map((f) => f.type === 'alert_update' && f.alert)).toEqual(taken)
    expect(back.frames.filter((f) => f.type === 'reset')).toEqual([])
    back.close()
  })
})

describe.each(BACKENDS)('alert updates to a client of one server on %s', (backend) => {
  let server: TestServer
  let url: string
  let operator: TestUser
  let viewer: TestUser

  beforeAll(async () => {
    server = await startTestServer(backend, backend === 'postgres' ? { REDIS_URL: await freshRedisUrl() } : {})
    url = (await server.listen()).replace('http', 'ws') + '/ws'
    operator = await server.user('operator')
    viewer = await server.user('viewer')
  })
  afterAll(() => server?.close())

  it('sends the opened, acknowledged and resolved alert, and replays the acknowledgement to a client that was away', async () => {
    const area = await server.app.areas.create({ name: 'Harbour', severity: 'medium', geometry: square(5, 5, 1) }, operator.id)
    const live = await connect(url, bearer(viewer.key))
    const ready = await readyOf(live)
    const incident = await server.app.incidents.create({ name: 'ship fire', severity: 'urgent', geometry: point(5, 5) }, operator.id)
    const [alert] = (await server.app.alerts.list({ incident: incident.properties.id, limit: 10 })).alerts
    const [fired] = (await live.waitFor((f) => f.type === 'alert')) as AlertFrame[]
    expect(fired!.areas_of_interest.map((x) => [x.id, x.alert_id])).toEqual([[area.properties.id, alert!.id]])
    await live.waitFor(isAlertUpdate(alert!.id, 'open'))
    const since = lastSeen(live)
    live.close()
    await live.closed

    const acknowledge = await server.app.inject({ method: 'POST', url: `/api/alerts/${alert!.id}/acknowledge`, headers: bearer(operator.key), payload: { note: 'tug on the way' } })
    expect(acknowledge.statusCode, acknowledge.body).toBe(200)
    await server.app.incidents.update(incident.properties.id, { closed: true }, 1, operator.id)
    const back = await connect(`${url}?since=${since}&epoch=${ready.epoch}`, bearer(viewer.key))
    const updates = (await back.waitFor(isAlertUpdate(alert!.id), 2)) as AlertUpdate[]
    expect(updates.map((u) => u.alert)).toEqual([acknowledge.json(), await server.app.alerts.get(alert!.id)])
    expect(updates[1]!.alert).toMatchObject({ state: 'resolved', resolved_reason: 'incident_closed', acknowledged_by: { id: operator.id, username: operator.username }, note: 'tug on the way' })
    // missed: the acknowledgement, then the close's post_save and resolution; nothing from before it left
    expect(back.frames.filter(isNotification).map((f) => f.type)).toEqual(['alert_update', 'post_save', 'alert_update'])
    expect(back.frames.filter((f) => f.type === 'reset')).toEqual([])
    back.close()
  })
})
