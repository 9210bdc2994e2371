import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { Alert, AlertPage, AlertSummary } from '../../../../../contracts/alerts.ts'
import type { Severity } from '../../../../../contracts/severity.ts'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { expectCleanProblem, expectNamesField } from '../../../../helpers/problem-checks.ts'

// The alert log over HTTP (server/routes/api/alerts.ts): anyone signed in
// reads it, filtered and paged; operators acknowledge an open alert, one of
// them at a time, and whoever comes second is told who took it and when.

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe.each(BACKENDS)('alerts API on %s', (backend) => {
  let server: TestServer
  let operator: TestUser
  let viewer: TestUser
  let place = 0

  beforeAll(async () => {
    server = await startTestServer(backend)
    operator = await server.user('operator')
    viewer = await server.user('viewer')
  })
  afterAll(() => server?.close())

  beforeEach(async () => {
    await server.app.db.deleteFrom('incidents').execute()
    await server.app.db.deleteFrom('areas_of_interest').execute()
    await server.app.db.deleteFrom('alerts').execute()
  })

  const get = (url: string, user: TestUser | null = viewer) => server.app.inject({ method: 'GET', url, headers: user ? bearer(user.key) : {} })
  const acknowledge = (id: number, user: TestUser | null, body?: object, headers: Record<string, string> = {}) =>
    server.app.inject({
      method: 'POST', url: `/api/alerts/${id}/acknowledge`, headers: { ...(user ? bearer(user.key) : {}), ...headers },
      ...(body === undefined ? {} : { payload: body }),
    })

  /** An area and an incident inside it, each somewhere of its own: the alert it opened. */
  async function fire(options: { severity?: Severity; areaName?: string } = {}) {
    const lon = -170 + 3 * place++
    const area = await server.app.areas.create({ name: options.areaName ?? `area ${place}`, severity: 'info', geometry: square(lon, 0, 1) }, operator.id)
    const incident = await server.app.incidents.create({ name: `incident ${place}`, severity: options.severity ?? 'high', geometry: point(lon, 0) }, operator.id)
    const { alerts } = await server.app.alerts.list({ incident: incident.properties.id, limit: 10 })
    expect(alerts).toHaveLength(1)
    return { area, incident, alert: alerts[0]! }
  }
  const listed = async (query: string): Promise<AlertPage> => {
    const response = await get(`/api/alerts${query}`)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<AlertPage>()
  }
  const listedIds = async (query: string) => (await listed(query)).alerts.map((a) => a.id)

  describe('acknowledging', () => {
    it('takes an open alert: 200 with who took it, when, and the note, as GET /api/alerts/:id then shows it', async () => {
      const { alert } = await fire()
      const before = Date.now()
      const response = await acknowledge(alert.id, operator, { note: 'crew on the way' })
      expect(response.statusCode, response.body).toBe(200)
      const taken = response.json<Alert>()
      expect(taken).toEqual({
        ...alert, state: 'acknowledged', acknowledged_by: { id: operator.id, username: operator.username },
        acknowledged_at: expect.stringMatching(ISO_INSTANT), note: 'crew on the way',
      })
      expect(Date.parse(taken.acknowledged_at!)).toBeGreaterThanOrEqual(before - 1000)
      expect(Date.parse(taken.acknowledged_at!)).toBeLessThanOrEqual(Date.now() + 1000)
      const read = await get(`/api/alerts/${alert.id}`)
      expect(read.statusCode).toBe(200)
      expect(read.json()).toEqual(taken)
    })

    it('takes one without a body, or with an empty one, and then has no note', async () => {
      const [first, second] = [await fire(), await fire()]
      const bare = await acknowledge(first.alert.id, operator)
      expect(bare.statusCode, bare.body).toBe(200)
      expect(bare.json()).toMatchObject({ state: 'acknowledged', note: null })
      const empty = await acknowledge(second.alert.id, operator, {})
      expect(empty.statusCode, empty.body).toBe(200)
      expect(empty.json()).toMatchObject({ state: 'acknowledged', note: null })
    })

    it('answers a second acknowledgement 409 naming who took it and when, and keeps the first', async () => {
      const { alert } = await fire()
      const other = await server.user('operator')
      const taken = (await acknowledge(alert.id, operator, { note: 'mine' })).json<Alert>()
      const body = expectCleanProblem(await acknowledge(alert.id, other, { note: 'no, mine' }), 409)
      expect(body.detail).toBe(`alert ${alert.id} was already acknowledged by ${operator.username} at ${taken.acknowledged_at}`)
      // the same person again is told the same
      expect(expectCleanProblem(await acknowledge(alert.id, operator), 409).detail).toBe(body.detail)
      expect((await get(`/api/alerts/${alert.id}`)).json()).toEqual(taken)
    })

    it('answers 409 saying the alert is resolved when it no longer applies', async () => {
      const { alert, incident } = await fire()
      await server.app.incidents.update(incident.properties.id, { closed: true }, 1, operator.id)
      const resolved = (await get(`/api/alerts/${alert.id}`)).json<Alert>()
      expect(resolved.state).toBe('resolved')
      const body = expectCleanProblem(await acknowledge(alert.id, operator, { note: 'late' }), 409)
      expect(body.detail).toBe(`alert ${alert.id} is resolved (incident closed at ${resolved.resolved_at}): there is nothing to acknowledge`)
      expect((await get(`/api/alerts/${alert.id}`)).json()).toEqual(resolved)
    })

    it('answers 404 for an alert that does not exist, to GET and to acknowledge', async () => {
      expect(expectCleanProblem(await get('/api/alerts/999999'), 404).detail).toBe('alert 999999 does not exist')
      expect(expectCleanProblem(await acknowledge(999999, operator), 404).detail).toBe('alert 999999 does not exist')
    })

    it('refuses a note over 500 characters, naming it, and takes one of exactly 500', async () => {
      const { alert } = await fire()
      const body = expectCleanProblem(await acknowledge(alert.id, operator, { note: 'n'.repeat(501) }), 400)
      expectNamesField(body, '/note', 'body')
      expect((await get(`/api/alerts/${alert.id}`)).json()).toEqual(alert)
      const response = await acknowledge(alert.id, operator, { note: 'n'.repeat(500) })
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json<Alert>().note).toBe('n'.repeat(500))
    })

    it('refuses a viewer (403), a caller without a session (401) and a page from another site, and leaves the alert open', async () => {
      const { alert } = await fire()
      expectCleanProblem(await acknowledge(alert.id, viewer, { note: 'x' }), 403)
      expectCleanProblem(await acknowledge(alert.id, null, { note: 'x' }), 401)
      expectCleanProblem(await acknowledge(alert.id, operator, { note: 'x' }, { origin: 'https://evil.example' }), 403)
      expect((await get(`/api/alerts/${alert.id}`)).json()).toEqual(alert)
      const admin = await server.admin()
      expect((await acknowledge(alert.id, admin)).json()).toMatchObject({ state: 'acknowledged', acknowledged_by: { id: admin.id, username: 'admin' } })
    })

    it('lets exactly one of 10 operators acknowledging at once over HTTP take the alert, and tells the other nine who did', async () => {
      const { alert } = await fire()
      const operators = await Promise.all(Array.from({ length: 10 }, () => server.user('operator')))
      const base = await server.listen()
      const responses = await Promise.all(operators.map(async (user, i) => {
        const response = await fetch(`${base}/api/alerts/${alert.id}/acknowledge`, {
          method: 'POST', headers: { ...bearer(user.key), 'content-type': 'application/json' }, body: JSON.stringify({ note: `operator ${i}` }),
        })
        return { user, i, status: response.status, body: await response.json() as Record<string, unknown> }
      }))
      const winners = responses.filter((r) => r.status === 200)
      const losers = responses.filter((r) => r.status !== 200)
      expect(winners).toHaveLength(1)
      const winner = winners[0]!
      const taken = winner.body as unknown as Alert
      expect(taken).toMatchObject({ state: 'acknowledged', acknowledged_by: { id: winner.user.id, username: winner.user.username }, note: `operator ${winner.i}` })
      expect(losers.map((r) => r.status)).toEqual(Array(9).fill(409))
      for (const loser of losers) {
        expect(loser.body.detail).toBe(`alert ${alert.id} was already acknowledged by ${winner.user.username} at ${taken.acknowledged_at}`)
      }
      expect((await get(`/api/alerts/${alert.id}`)).json()).toEqual(taken)
      const history = (await get(`/api/incidents/${alert.incident!.id}/history`)).json<{ entries: { action: string; actor: unknown }[] }>()
      expect(history.entries.filter((e) => e.action === 'alert_acknowledged').map((e) => e.actor)).toEqual([{ id: winner.user.id, username: winner.user.username }])
    })
  })

  describe('reading', () => {
    it('lets a viewer read the log, one alert and the summary; a caller without a session gets 401 from each', async () => {
      const { alert } = await fire()
      for (const url of ['/api/alerts', '/api/alerts/summary', `/api/alerts/${alert.id}`]) {
        expect((await get(url, viewer)).statusCode).toBe(200)
        expectCleanProblem(await get(url, null), 401)
      }
      expect(await listed('')).toEqual({ alerts: [alert], next_cursor: null })
    })

    it('filters by state (repeated), area, incident and since, newest first', async () => {
      const a = await fire({ severity: 'urgent' })
      const b = await fire({ severity: 'high' })
      const c = await fire({ severity: 'medium' })
      // a second incident in b's area, and a second area around a's incident
      const b2 = await server.app.incidents.create({ name: 'b2', severity: 'low', geometry: point(b.incident.geometry.coordinates[0] + 0.1, 0) }, operator.id)
      const a2 = await server.app.areas.create({ name: 'around a', severity: 'low', geometry: square(a.incident.geometry.coordinates[0], 0, 0.5) }, operator.id)
      const [b2Alert] = (await server.app.alerts.list({ incident: b2.properties.id, limit: 10 })).alerts
      const [a2Alert] = (await server.app.alerts.list({ area: a2.properties.id, limit: 10 })).alerts
      await acknowledge(b.alert.id, operator)
      await server.app.incidents.update(c.incident.properties.id, { closed: true }, 1, operator.id)
      // fired at known instants, an hour apart, in the order they were made (the schema lets no save change it)
      const order = [a.alert.id, b.alert.id, c.alert.id, b2Alert!.id, a2Alert!.id]
      for (const [i, id] of order.entries()) {
        await sql`UPDATE alerts SET fired = ${new Date(Date.UTC(2026, 0, 1, 10 + i)).toISOString()}::timestamptz WHERE id = ${id}`.execute(server.app.db)
      }

      expect(await listedIds('')).toEqual([...order].reverse())
      expect(await listedIds('?state=open')).toEqual([a2Alert!.id, b2Alert!.id, a.alert.id])
      expect(await listedIds('?state=acknowledged')).toEqual([b.alert.id])
      expect(await listedIds('?state=resolved')).toEqual([c.alert.id])
      expect(await listedIds('?state=open&state=acknowledged')).toEqual([a2Alert!.id, b2Alert!.id, b.alert.id, a.alert.id])
      expect(await listedIds('?state=resolved&state=acknowledged')).toEqual([c.alert.id, b.alert.id])
      expect(await listedIds(`?area=${b.area.properties.id}`)).toEqual([b2Alert!.id, b.alert.id])
      expect(await listedIds(`?area=${b.area.properties.id}&state=open`)).toEqual([b2Alert!.id])
      expect(await listedIds(`?incident=${a.incident.properties.id}`)).toEqual([a2Alert!.id, a.alert.id])
      expect(await listedIds(`?incident=${a.incident.properties.id}&area=${a2.properties.id}`)).toEqual([a2Alert!.id])
      expect(await listedIds('?since=2026-01-01T12:00:00.000Z')).toEqual([a2Alert!.id, b2Alert!.id, c.alert.id])
      expect(await listedIds('?since=2026-01-01T12:00:00.001Z')).toEqual([a2Alert!.id, b2Alert!.id])
      expect(await listedIds('?since=2026-01-01T13:00:00%2B01:00')).toEqual(order.slice(2).reverse())
      expect(await listedIds('?since=2027-01-01T00:00:00Z')).toEqual([])
      expect(await listedIds('?area=999999')).toEqual([])
    })

    it('pages newest first by limit and cursor, with no alert twice and none left out', async () => {
      const fired = []
      for (let i = 0; i < 7; i++) fired.push((await fire()).alert.id)
      const newestFirst = [...fired].reverse()
      expect(await listedIds('?limit=1000')).toEqual(newestFirst)

      const pages: AlertPage[] = []
      let cursor: number | null = null
      do {
        const page = await listed(`?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`)
        pages.push(page)
        cursor = page.next_cursor
        expect(pages.length).toBeLessThanOrEqual(3)
      } while (cursor !== null)
      expect(pages.map((p) => p.alerts.map((a) => a.id))).toEqual([newestFirst.slice(0, 3), newestFirst.slice(3, 6), newestFirst.slice(6)])
      expect(pages.map((p) => p.next_cursor)).toEqual([newestFirst[2], newestFirst[5], null])
      // a page that ends exactly at the last alert says there is no next one
      expect((await listed('?limit=7')).next_cursor).toBeNull()
      // filters and paging together
      await acknowledge(fired[1]!, operator)
      await acknowledge(fired[4]!, operator)
      const first = await listed('?state=open&limit=2')
      expect(first.alerts.map((a) => a.id)).toEqual([fired[6], fired[5]])
      const second = await listed(`?state=open&limit=2&cursor=${first.next_cursor}`)
      expect(second.alerts.map((a) => a.id)).toEqual([fired[3], fired[2]])
      const third = await listed(`?state=open&limit=2&cursor=${second.next_cursor}`)
      expect(third).toEqual({ alerts: [expect.objectContaining({ id: fired[0] })], next_cursor: null })
    })

    it.each([
      ['state=bogus', '/state/0'],
      ['state=open&state=bogus', '/state/1'],
      ['limit=0', '/limit'],
      ['limit=1001', '/limit'],
      ['limit=ten', '/limit'],
      ['since=notadate', '/since'],
      ['since=2026-13-01T00:00:00Z', '/since'],
      ['cursor=-1', '/cursor'],
      ['area=abc', '/area'],
      ['incident=0', '/incident'],
    ])('refuses %s with 400 naming the field', async (query, field) => {
      const body = expectCleanProblem(await get(`/api/alerts?${query}`), 400)
      expectNamesField(body, field, 'querystring')
    })

    it('refuses an unknown query parameter with 400 naming it', async () => {
      const body = expectCleanProblem(await get('/api/alerts?colour=red'), 400)
      expect(JSON.stringify(body)).toContain('colour')
    })

    it('counts alerts by state, and those standing by the severity they fired with', async () => {
      const empty = { by_state: { open: 0, acknowledged: 0, resolved: 0 }, by_severity: { urgent: 0, high: 0, medium: 0, low: 0, info: 0 } }
      expect((await get('/api/alerts/summary')).json()).toEqual(empty)

      const urgentOpen = await fire({ severity: 'urgent' })
      await fire({ severity: 'high' })
      const highTaken = await fire({ severity: 'high' })
      const mediumResolved = await fire({ severity: 'medium' })
      const lowTaken = await fire({ severity: 'low' })
      await acknowledge(highTaken.alert.id, operator)
      await acknowledge(lowTaken.alert.id, operator)
      await server.app.incidents.update(mediumResolved.incident.properties.id, { closed: true }, 1, operator.id)
      // the severity it fired with counts, not the incident's now
      await server.app.incidents.update(urgentOpen.incident.properties.id, { severity: 'info' }, 1, operator.id)

      const summary = (await get('/api/alerts/summary')).json<AlertSummary>()
      expect(summary).toEqual({ by_state: { open: 2, acknowledged: 2, resolved: 1 }, by_severity: { urgent: 1, high: 2, medium: 0, low: 1, info: 0 } })
    })
  })
})
