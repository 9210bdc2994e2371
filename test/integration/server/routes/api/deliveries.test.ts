import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { expectCleanProblem, expectNamesField } from '../../../../helpers/problem-checks.ts'
import { waitUntil } from '../../../../helpers/wait.ts'

// The admins' list of deliveries filters by state; the issue that asked for
// it spelled the key `status`, the contracts `state`: both are taken, and a
// request that gives both with different values is refused, naming `status`.
// One alert makes deliveries of both outcomes: a mail that fails (no SMTP
// is configured) and webhook POSTs that are sent (a real receiver on
// loopback; it gets the alert and the alert's state).

describe('GET /api/deliveries by state', () => {
  let server: TestServer
  let receiver: Server
  let admin: TestUser
  let operator: TestUser

  beforeAll(async () => {
    receiver = createServer((request, response) => request.resume().on('end', () => response.writeHead(204).end()))
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    server = await startTestServer('postgres', { JOBS_IN_PROCESS: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_ATTEMPTS: '1' })
    admin = await server.admin()
    operator = await server.user('operator')
    const subscriber = await server.user('viewer')
    expect((await server.app.inject({ method: 'PATCH', url: `/api/users/${subscriber.id}`, headers: bearer(admin.key), payload: { email: 'sub@example.test' } })).statusCode).toBe(200)
    expect((await server.app.inject({ method: 'PUT', url: '/api/me/subscription', headers: bearer(subscriber.key), payload: { email_alerts: true, min_severity: 'info', areas: 'all' } })).statusCode).toBe(200)
    const port = (receiver.address() as AddressInfo).port
    expect((await server.app.inject({ method: 'POST', url: '/api/webhooks', headers: bearer(operator.key), payload: { url: `http://127.0.0.1:${port}/hook`, min_severity: 'info' } })).statusCode).toBe(201)

    await server.app.areas.create({ name: 'Harbour', severity: 'info', geometry: square(20, 20, 1) }, operator.id)
    await server.app.incidents.create({ name: 'Oil spill', severity: 'urgent', geometry: point(20, 20) }, operator.id)
    let counts = {}
    await waitUntil(async () => {
      const now = await server.app.deliveries.counts()
      counts = now
      return now.pending + now.sending === 0 && now.sent >= 1 && now.failed === 1
    }, { timeoutMs: 30_000, what: () => `every delivery settled, the webhook's sent and the mail failed (the counts: ${JSON.stringify(counts)})` })
  })
  afterAll(async () => {
    await server?.close()
    await new Promise((resolve) => receiver?.close(resolve))
  })

  const list = (query: string, key = admin.key) => server.app.inject({ method: 'GET', url: `/api/deliveries${query}`, headers: bearer(key) })
  const channels = (response: Awaited<ReturnType<typeof list>>) => response.json<{ deliveries: { channel: string; state: string }[] }>().deliveries.map((d) => `${d.channel} ${d.state}`)

  it('lists the failed ones by ?state=failed, and only those', async () => {
    const failed = await list('?state=failed')
    expect(failed.statusCode, failed.body).toBe(200)
    expect(channels(failed)).toEqual(['email failed'])
    expect(failed.json().deliveries[0]).toMatchObject({ to: 'sub@example.test', last_error: 'mail is not configured: set SMTP_URL' })
  })

  it('takes ?status= as another name for state', async () => {
    expect(channels(await list('?status=failed'))).toEqual(['email failed'])
    const sent = channels(await list('?status=sent'))
    expect(sent.length).toBeGreaterThanOrEqual(1)
    expect(new Set(sent)).toEqual(new Set(['webhook sent']))
  })

  it('takes both when they agree', async () => {
    expect(channels(await list('?status=sent&state=sent'))).toEqual(channels(await list('?state=sent')))
  })

  it('refuses both with different values, naming status and what each said', async () => {
    const body = expectCleanProblem(await list('?status=failed&state=sent'), 400)
    expectNamesField(body, '/status', 'querystring')
    expect(body.detail).toContain('status "failed" and state "sent" disagree')
  })

  it('refuses a status that is not a delivery state, naming it', async () => {
    const body = expectCleanProblem(await list('?status=lost'), 400)
    expectNamesField(body, '/status', 'querystring')
  })

  it('lists everything without either, and nothing to an operator', async () => {
    const all = channels(await list(''))
    expect(all.sort()).toEqual([...channels(await list('?state=failed')), ...channels(await list('?state=sent'))].sort())
    expect((await list('?status=failed', operator.key)).statusCode).toBe(403)
  })
})
