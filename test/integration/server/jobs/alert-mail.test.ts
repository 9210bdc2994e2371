import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { startSmtpSink, type SmtpSink } from '../../../helpers/smtp-sink.ts'
import { waitUntil } from '../../../helpers/wait.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'

// Alert mail, with the jobs run inside the server: on the embedded engine
// (both database backends), and on BullMQ in a real Redis. A subscribed user
// gets one mail per alert, in a real SMTP server; users who did not
// subscribe, or whose filter does not match, get nothing; the mail's
// acknowledge link asks before it acts. (With worker processes of their own:
// alerts-reach-people.test.ts, and the faults: worker-crash, smtp-outage, redis-outage.)

const SETUPS = [
  ...BACKENDS.map((backend) => ({ name: `${backend}, in-process engine`, backend, redis: false })),
  { name: 'postgres, BullMQ on Redis', backend: 'postgres' as const, redis: true },
]

describe.each(SETUPS)('alert mail on $name', ({ backend, redis }) => {
  let server: TestServer
  let smtp: SmtpSink
  let admin: TestUser
  let operator: TestUser
  let subscriber: TestUser
  let filtered: TestUser
  let bystander: TestUser
  let place = 0

  beforeAll(async () => {
    smtp = await startSmtpSink()
    server = await startTestServer(backend, {
      SMTP_URL: smtp.url, JOBS_IN_PROCESS: 'true', PUBLIC_URL: 'http://tracker.test', DELIVERY_BACKOFF_MS: '100',
      ...(redis ? { REDIS_URL: await freshRedisUrl() } : {}),
    })
    admin = await server.admin()
    operator = await server.user('operator')
    subscriber = await server.user('viewer')
    filtered = await server.user('viewer')
    bystander = await server.user('viewer')
    for (const [user, email] of [[subscriber, 'sub@example.test'], [filtered, 'filtered@example.test'], [bystander, 'bystander@example.test']] as const) {
      const set = await server.app.inject({ method: 'PATCH', url: `/api/users/${user.id}`, headers: bearer(admin.key), payload: { email } })
      expect(set.statusCode, set.body).toBe(200)
    }
  })
  afterAll(async () => {
    await server?.close()
    await smtp?.close()
  })

  const subscribe = (user: TestUser, body: object) => server.app.inject({ method: 'PUT', url: '/api/me/subscription', headers: bearer(user.key), payload: body })

  it('is off until the user turns it on, and needs an address on the account', async () => {
    const read = await server.app.inject({ method: 'GET', url: '/api/me/subscription', headers: bearer(operator.key) })
    expect(read.json()).toEqual({ email_alerts: false, min_severity: 'high', areas: 'all', email: null })
    const refused = await subscribe(operator, { email_alerts: true, min_severity: 'low', areas: 'all' })
    expect(refused.statusCode).toBe(400)
    expect(refused.json().errors[0]).toMatchObject({ field: '/email_alerts' })
  })

  it('mails a subscribed user once per alert, and nobody else', async () => {
    const lon = -150 + 5 * place++
    const area = await server.app.areas.create({ name: 'Harbour', severity: 'info', geometry: square(lon, 10, 1) }, operator.id)
    const other = await server.app.areas.create({ name: 'Airport', severity: 'info', geometry: square(lon + 2.5, 10, 1) }, operator.id)
    expect((await subscribe(subscriber, { email_alerts: true, min_severity: 'medium', areas: 'all' })).statusCode).toBe(200)
    expect((await subscribe(filtered, { email_alerts: true, min_severity: 'medium', areas: [other.properties.id] })).statusCode).toBe(200)

    await server.app.incidents.create({ name: 'Low tide', severity: 'low', geometry: point(lon, 10) }, operator.id)
    const incident = await server.app.incidents.create({ name: 'Oil spill', severity: 'urgent', description: 'near pier 4', geometry: point(lon + 0.1, 10.2) }, operator.id)

    await waitUntil(() => smtp.to('sub@example.test').length >= 1, { what: 'the subscriber’s mail' })
    const [mail] = smtp.to('sub@example.test')
    expect(mail!.subject).toBe('[URGENT] Oil spill in Harbour')
    expect(mail!.text).toContain('10.20000, ' + (lon + 0.1).toFixed(5))
    expect(mail!.text).toContain(`http://tracker.test/?incident=${incident.properties.id}`)
    expect(mail!.text).toMatch(/Acknowledge the alert for Harbour: http:\/\/tracker\.test\/ack\/[A-Za-z0-9_-]{43}/)
    expect(mail!.html).toContain('Oil spill')
    expect(mail!.messageId).toMatch(/^<delivery-\d+@tracker\.test>$/)

    // the delivery is recorded as sent; nothing else went out
    await waitUntil(async () => (await server.app.deliveries.counts()).pending === 0, { what: 'no pending deliveries' })
    expect(smtp.to('sub@example.test')).toHaveLength(1)
    expect(smtp.to('filtered@example.test')).toHaveLength(0)
    expect(smtp.to('bystander@example.test')).toHaveLength(0)
    expect(area.properties.name).toBe('Harbour')
  })

  it('acknowledges only when the link’s page is confirmed, and only once', async () => {
    const mail = smtp.to('sub@example.test').at(-1)!
    const path = /http:\/\/tracker\.test(\/ack\/[A-Za-z0-9_-]{43})/.exec(mail.text)![1]!
    const shown = await server.app.inject({ method: 'GET', url: path })
    expect(shown.statusCode).toBe(200)
    expect(shown.body).toContain('Acknowledge this alert?')
    const alertId = (await server.app.alerts.list({ state: ['open'], limit: 10 })).alerts.find((a) => a.incident?.name === 'Oil spill')!.id
    expect((await server.app.alerts.get(alertId)).state).toBe('open') // a GET (a mail scanner) acknowledged nothing

    const confirmed = await server.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' })
    expect(confirmed.statusCode, confirmed.body).toBe(200)
    expect(confirmed.body).toContain('Acknowledged')
    const alert = await server.app.alerts.get(alertId)
    expect(alert).toMatchObject({ state: 'acknowledged', acknowledged_by: { id: subscriber.id, username: subscriber.username } })

    const again = await server.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' })
    expect(again.statusCode).toBe(410)
    expect(again.body).toContain('already used')
    const forged = await server.app.inject({ method: 'GET', url: `/ack/${'A'.repeat(43)}` })
    expect(forged.statusCode).toBe(404)
  })

  it('keeps an alert’s body once, however many receive it, and not at all when nobody does', async () => {
    const lon = -150 + 5 * place++
    await server.app.areas.create({ name: 'Quay', severity: 'info', geometry: square(lon, 10, 1) }, operator.id)
    expect((await subscribe(subscriber, { email_alerts: true, min_severity: 'medium', areas: 'all' })).statusCode).toBe(200)
    expect((await subscribe(filtered, { email_alerts: true, min_severity: 'medium', areas: 'all' })).statusCode).toBe(200)
    const bodies = async () => Number((await server.app.db.selectFrom('delivery_payloads').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
    const before = await bodies()

    await server.app.incidents.create({ name: 'Below everyone’s minimum', severity: 'low', geometry: point(lon, 10) }, operator.id)
    expect(await bodies()).toBe(before)

    const incident = await server.app.incidents.create({ name: 'Crane down', severity: 'high', geometry: point(lon, 10.1) }, operator.id)
    const deliveries = await server.app.db
      .selectFrom('deliveries').innerJoin('delivery_payloads', 'delivery_payloads.id', 'deliveries.payload_id')
      .select(['deliveries.address', 'deliveries.payload_id', 'delivery_payloads.payload'])
      .where('deliveries.key', 'like', 'alert/%').where(sql<boolean>`delivery_payloads.payload -> 'feature' -> 'properties' ->> 'id' = ${String(incident.properties.id)}`)
      .execute()
    expect(deliveries.map((d) => d.address).sort()).toEqual(['filtered@example.test', 'sub@example.test'])
    expect(new Set(deliveries.map((d) => d.payload_id)).size).toBe(1)
    expect(await bodies()).toBe(before + 1)
    await waitUntil(() => smtp.to('filtered@example.test').some((m) => m.subject.includes('Crane down')), { what: 'the mail from the shared body' })
    expect((await subscribe(filtered, { email_alerts: false, min_severity: 'medium', areas: 'all' })).statusCode).toBe(200)
  })
})
