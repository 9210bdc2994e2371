import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isFeatureNotification, type ReadyFrame, type ServerFrame } from '../../../../contracts/live.ts'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { waitUntil, within } from '../../../helpers/wait.ts'
import { connect, readyOf, refusedStatus } from '../../../helpers/ws-client.ts'

// The live socket end to end: on PostgreSQL + Redis with two apps in this
// process sharing the database and Redis, as two instances would (the
// operator on one, the viewer on the other); on the embedded default with one
// app and the in-process layer. (Real processes: scale-out.test.ts.)


const isType = <T extends ServerFrame['type']>(type: T) => (f: ServerFrame) => f.type === type
const notifications = (frames: ServerFrame[]) => frames.filter(isFeatureNotification)

describe.each(BACKENDS)('live notifications on %s', (backend) => {
  let a: TestServer
  let b: TestServer
  let urlA: string
  let urlB: string
  let operator: TestUser
  let viewer: TestUser

  beforeAll(async () => {
    const env: Record<string, string> = { SESSION_CHECK_MS: '200', NOTIFICATION_HISTORY: '50' }
    if (backend === 'postgres') {
      env.REDIS_URL = await freshRedisUrl()
    }
    a = await startTestServer(backend, env)
    b = backend === 'postgres' ? await startTestServer(backend, env, a) : a
    urlA = (await a.listen()).replace('http', 'ws')
    urlB = b === a ? urlA : (await b.listen()).replace('http', 'ws')
    operator = await a.user('operator')
    viewer = await b.user('viewer')
  })
  afterAll(async () => {
    if (b && b !== a) await b.app.close()
    await a?.close()
  })

  const post = (url: string, payload: object, user = operator) =>
    a.app.inject({ method: 'POST', url, payload, headers: bearer(user.key) })

  it('refuses an upgrade without a valid session, and a cookie from a foreign origin', async () => {
    expect(await refusedStatus(`${urlA}/ws`)).toBe(401)
    expect(await refusedStatus(`${urlA}/ws?session_key=${'x'.repeat(43)}`)).toBe(401)
    expect(await refusedStatus(`${urlA}/ws`, { cookie: `session=${viewer.key}`, origin: 'https://evil.example' })).toBe(403)
    const members = () => a.app.fanOut.members.size + (b === a ? 0 : b.app.fanOut.members.size)
    const sameOrigin = await connect(`${urlA}/ws`, { cookie: `session=${viewer.key}`, origin: urlA.replace('ws', 'http') })
    // the server joins a socket to the group before it sends ready: the refused ones never joined
    await readyOf(sameOrigin)
    expect(members()).toBe(1)
    sameOrigin.close()
    await waitUntil(() => members() === 0, { what: 'the closed socket to leave the group' })
  })

  it('delivers post_save then alert to every signed-in client, on both apps', async () => {
    const area = (await post('/api/areas', { type: 'Feature', properties: { name: 'Harbour', severity: 'high' }, geometry: square(10, 50, 1) })).json()
    const opSocket = await connect(`${urlA}/ws`, bearer(operator.key))
    const viewerSocket = await connect(`${urlB}/ws?session_key=${viewer.key}`)

    const created = await post('/api/incidents', { name: 'Oil spill', severity: 'urgent', location: { lon: 10.2, lat: 50.1 } })
    expect(created.statusCode).toBe(201)
    const feature = created.json()

    const { alerts: [opened] } = await a.app.alerts.list({ incident: feature.properties.id, limit: 10 })
    for (const client of [opSocket, viewerSocket]) {
      const [saved, alert] = notifications(await client.waitFor((f) => isFeatureNotification(f) && f.feature.id === feature.id, 2))
      expect(saved).toEqual({ id: expect.stringMatching(/^\d+-\d+$/), event: expect.any(Number), type: 'post_save', created: true, feature })
      expect(alert).toEqual({
        id: expect.stringMatching(/^\d+-\d+$/),
        event: expect.any(Number),
        type: 'alert',
        feature,
        areas_of_interest: [{ id: area.properties.id, name: 'Harbour', severity: 'high', url: `/api/areas/${area.properties.id}`, alert_id: opened!.id }],
      })
    }

    // a text edit: post_save, and no second alert
    const id = feature.properties.id
    await a.app.inject({ method: 'PATCH', url: `/api/incidents/${id}`, headers: bearer(operator.key), payload: { properties: { description: 'spreading' } } })
    // a move into another area: one alert, for that area only
    const area2 = (await post('/api/areas', { type: 'Feature', properties: { name: 'Bay', severity: 'low' }, geometry: square(20, 50, 1) })).json()
    await a.app.inject({ method: 'PATCH', url: `/api/incidents/${id}`, headers: bearer(operator.key), payload: { geometry: point(20, 50) } })

    for (const client of [opSocket, viewerSocket]) {
      await client.waitFor((f) => f.type === 'post_save' && f.feature.id === feature.id && f.feature.geometry.coordinates[0] === 20)
      const alerts = notifications(await client.waitFor((f) => f.type === 'alert' && f.feature.id === feature.id, 2))
      expect(alerts.map((n) => n.type === 'alert' && n.areas_of_interest.map((x) => x.name))).toEqual([['Harbour'], ['Bay']])
      void area2
      const ids = notifications(client.frames).map((n) => n.id)
      expect([...ids].sort(compareIds)).toEqual(ids) // in published order
    }
    opSocket.close()
    viewerSocket.close()
  })

  it('replays exactly what a reconnecting client missed, then continues live', async () => {
    const first = await connect(`${urlB}/ws`, bearer(viewer.key))
    await post('/api/incidents', { name: 'before drop', location: { lon: 0, lat: 0 } })
    const [seen] = notifications(await first.waitFor(isType('post_save')))
    const { epoch } = await readyOf(first)
    first.socket.terminate()

    const missed: string[] = []
    for (let i = 0; i < 5; i++) missed.push((await post('/api/incidents', { name: `missed ${i}`, location: { lon: i, lat: 0 } })).json().id)
    await a.app.relay.wake()

    const again = await connect(`${urlB}/ws?since=${seen!.id}&epoch=${epoch}`, bearer(viewer.key))
    const replayed = notifications(await again.waitFor(isType('post_save'), 5))
    expect(replayed.map((n) => n.feature.id)).toEqual(missed)
    await post('/api/incidents', { name: 'live again', location: { lon: 9, lat: 0 } })
    const all = notifications(await again.waitFor(isType('post_save'), 6))
    expect(all.map((n) => n.type === 'post_save' && n.feature.properties.name).slice(-1)).toEqual(['live again'])
    expect(new Set(all.map((n) => n.id)).size).toBe(all.length) // no duplicates
    again.close()
  })

  it('tells a new socket its position, so it can resume even before any notification reached it', async () => {
    const quiet = await connect(`${urlB}/ws`, bearer(viewer.key))
    const [ready] = await quiet.waitFor(isType('ready'))
    expect(ready).toEqual({ type: 'ready', id: expect.stringMatching(/^\d+-\d+$/), epoch: expect.stringMatching(/^[\w-]+$/) })
    expect(quiet.frames).toHaveLength(1)
    quiet.socket.terminate()

    const missed = (await post('/api/incidents', { name: 'while away', location: { lon: 3, lat: 3 } })).json().id
    await a.app.relay.wake()
    const back = await connect(`${urlB}/ws?since=${(ready as ReadyFrame).id}&epoch=${(ready as ReadyFrame).epoch}`, bearer(viewer.key))
    const [replayed] = notifications(await back.waitFor(isType('post_save')))
    expect(replayed!.feature.id).toBe(missed)
    back.close()
  })

  it('sends one reset frame when the id is older than the kept history', async () => {
    const watcher = await connect(`${urlB}/ws`, bearer(viewer.key))
    await post('/api/incidents', { name: 'old', location: { lon: 1, lat: 1 } })
    const [old] = notifications(await watcher.waitFor(isType('post_save')))
    const { epoch } = await readyOf(watcher)
    watcher.close()
    // history is ~50 (Redis trims by whole nodes of 100 entries): push well past it
    for (let i = 0; i < 250; i++) await a.app.incidents.create({ name: `flood ${i}`, geometry: point(0, 0) }, operator.id)
    await a.app.relay.wake()
    const late = await connect(`${urlB}/ws?since=${old!.id}&epoch=${epoch}`, bearer(viewer.key))
    await late.waitFor(isType('reset'))
    expect(late.frames[0]).toEqual({ type: 'reset' })
    late.close()
  })

  it('closes the socket with 1008 when its session signs out', async () => {
    const key = await b.login(viewer.username, viewer.password)
    const client = await connect(`${urlB}/ws`, bearer(key))
    const logout = await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(key) })
    expect(logout.statusCode).toBe(204)
    expect(await within(client.closed, 'the signed-out session\'s socket to close')).toMatchObject({ code: 1008 })
  })

  it('closes a socket that sends an oversize frame, and keeps serving', async () => {
    const client = await connect(`${urlA}/ws`, bearer(viewer.key))
    client.socket.send('x'.repeat(10_000))
    expect((await client.closed).code).toBe(1009)
    const health = await a.app.inject({ method: 'GET', url: '/api/health' })
    expect(health.json()).toMatchObject({ status: 'ok', notifications: { ok: true, kind: backend === 'postgres' ? 'redis' : 'memory' } })
  })
})

function compareIds(x: string, y: string) {
  const [xm, xs] = x.split('-').map(BigInt) as [bigint, bigint]
  const [ym, ys] = y.split('-').map(BigInt) as [bigint, bigint]
  return xm === ym ? Number(xs - ys) : xm < ym ? -1 : 1
}
