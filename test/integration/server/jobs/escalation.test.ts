import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import type { AreaFeature } from '../../../../contracts/features.ts'
import type { Alert, AlertPage } from '../../../../contracts/alerts.ts'
import type { CreatedWebhook } from '../../../../contracts/deliveries.ts'
import { buildApp } from '../../../../server/app.ts'
import { loadConfig } from '../../../../server/config.ts'
import { ADMIN_PASSWORD, freshDatabaseEnv, square } from '../../../helpers/test-server.ts'
import { createDatabase, withClient } from '../../../helpers/postgres.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { killAllServers, launchServer, type ServerProcess } from '../../../helpers/server-process.ts'
import { killAllWorkers, launchWorker, type WorkerProcess } from '../../../helpers/worker-process.ts'
import { startSmtpSink, type SmtpSink } from '../../../helpers/smtp-sink.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../../helpers/webhook-receiver.ts'
import { signIn } from '../../../helpers/sign-in.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// Escalation: an alert of an area with `escalate_after_minutes` that is still
// open that long after it fired is sent, once, to the area's escalation
// contacts (a user by mail, a webhook by a signed POST); an alert
// acknowledged in time goes to nobody. The timer is a delayed job (BullMQ in
// Redis, or the escalation's row for the in-process engine) and the due time
// is in the database, so every process may stop and start again in between.
//
// Minutes are too long for a test, and the due time is computed by the
// outbox trigger in the alert's own transaction, then handed to the job
// engine as a delay at once. So the test database's clock for escalations
// runs fast: a trigger of the test's own sets each new escalation's due time
// to SECONDS_PER_MINUTE seconds per minute. Moving `due` after the alert
// fired would not do: the delayed job was already in Redis with the real
// delay. Nothing of the server changes; a configuration knob that only
// tests would set is not needed.

const SECONDS_PER_MINUTE = 15
const MINUTES = 2
const FAST_CLOCK = [
  `CREATE FUNCTION test_fast_escalation_clock() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN NEW.due := now() + make_interval(secs => NEW.minutes * ${SECONDS_PER_MINUTE}); RETURN NEW; END $$`,
  `CREATE TRIGGER test_fast_escalation_clock BEFORE INSERT ON escalations FOR EACH ROW EXECUTE FUNCTION test_fast_escalation_clock()`,
]
/** due, then as long again for a busy machine to restart every process and send */
const ESCALATED_WITHIN = 2 * MINUTES * SECONDS_PER_MINUTE * 1000 + 60_000

interface EscalationRow {
  alert_id: number
  state: 'waiting' | 'escalated' | 'not_needed'
  due: Date
  enqueued: Date | null
}

/** JSON over HTTP to a server, as a client would: the status and the body. */
async function call(base: string, method: string, path: string, key?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(base + path, {
    method,
    headers: { ...(key && { authorization: `Bearer ${key}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : null }
}

async function created(base: string, path: string, key: string, body: unknown) {
  const answer = await call(base, 'POST', path, key, body)
  expect(answer.status, JSON.stringify(answer.body)).toBe(201)
  return answer.body
}

/**
 * Before the restart: the people, the contact webhook, an area that
 * escalates after MINUTES to them, and two alerts in it, the second
 * acknowledged at once.
 */
async function fireTwoAlerts(base: string, receiver: WebhookReceiver) {
  const admin = (await signIn(base, 'admin', ADMIN_PASSWORD)).key
  const user = (username: string, role: string, email?: string) => created(base, '/api/users', admin, { username, password: `pw-${username}-secret`, role, ...(email && { email }) })
  const operator = await user('operator-on-duty', 'operator')
  const contact = await user('night-lead', 'viewer', 'lead@example.test')
  await user('bystander', 'viewer', 'bystander@example.test')
  const operatorKey = (await signIn(base, operator.username, `pw-${operator.username}-secret`)).key

  // the contact webhook hears only escalations: its own filter (another area) matches no alert
  const elsewhere = await created(base, '/api/areas', operatorKey, { type: 'Feature', geometry: square(80, -30, 1), properties: { name: 'Elsewhere' } })
  const hook: CreatedWebhook = await created(base, '/api/webhooks', operatorKey, { url: receiver.url, min_severity: 'info', areas: [elsewhere.properties.id] })
  receiver.trust(hook.secret)
  const area: AreaFeature = await created(base, '/api/areas', operatorKey, {
    type: 'Feature',
    geometry: square(60, -30, 1),
    properties: { name: 'Reservoir', severity: 'medium', escalate_after_minutes: MINUTES, escalation_contacts: { users: [contact.id], webhooks: [hook.id] } },
  })
  expect(area.properties).toMatchObject({ escalate_after_minutes: MINUTES, escalation_contacts: { users: [contact.id], webhooks: [hook.id] } })

  await created(base, '/api/incidents', operatorKey, { name: 'Dam leak', severity: 'high', location: { lon: 60, lat: -30 } })
  await created(base, '/api/incidents', operatorKey, { name: 'Fence down', severity: 'medium', location: { lon: 60.2, lat: -30.2 } })
  const open = (await call(base, 'GET', '/api/alerts?state=open', operatorKey)).body as AlertPage
  const late = open.alerts.find((a) => a.incident?.name === 'Dam leak')!
  const seen = open.alerts.find((a) => a.incident?.name === 'Fence down')!
  const acknowledged = await call(base, 'POST', `/api/alerts/${seen.id}/acknowledge`, operatorKey, { note: 'handled' })
  expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200)
  return { late, seen, contact, hook }
}

/** What the contacts received for escalations, once nothing is waiting or unsent. */
function expectEscalatedOnce(smtp: SmtpSink, receiver: WebhookReceiver, fired: { late: Alert; seen: Alert }, due: Date) {
  const mails = smtp.to('lead@example.test')
  expect(mails.map((m) => m.subject)).toEqual([`Unacknowledged for ${MINUTES} minutes: [HIGH] Dam leak in Reservoir`])
  expect(mails[0]!.text).toContain(`Nobody has acknowledged this alert for ${MINUTES} minutes.`)
  expect(mails[0]!.text).toMatch(/Acknowledge it: http:\/\/tracker\.test\/ack\/[A-Za-z0-9_-]{43}/)
  expect(mails[0]!.at).toBeGreaterThanOrEqual(due.getTime())
  expect(smtp.to('bystander@example.test')).toEqual([])
  expect(smtp.mails.some((m) => m.subject.includes('Fence down'))).toBe(false)

  expect(receiver.rejected).toBe(0)
  expect(receiver.received.map((r) => r.body)).toEqual([
    { type: 'alert_escalation', unacknowledged_minutes: MINUTES, alert: expect.objectContaining({ id: fired.late.id, state: 'open', incident: expect.objectContaining({ name: 'Dam leak' }) }) },
  ])
  expect(receiver.received[0]!.at).toBeGreaterThanOrEqual(due.getTime())
}

describe('escalation with every process restarted, on PostgreSQL and Redis with worker processes', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let smtp: SmtpSink
  let receiver: WebhookReceiver
  let env: Record<string, string>
  let server: ServerProcess
  let workers: WorkerProcess[] = []
  let fired: Awaited<ReturnType<typeof fireTwoAlerts>>
  let rows: EscalationRow[]
  let stoppedAt: number

  const escalations = () => withClient(database.url, async (c) => (await c.query<EscalationRow>('SELECT alert_id, state, due, enqueued FROM escalations ORDER BY alert_id')).rows)
  const startEverything = async (workerCount: number) => {
    server = await launchServer({ ...env, JOBS_IN_PROCESS: 'false' })
    workers = await Promise.all(Array.from({ length: workerCount }, () => launchWorker(env)))
    await server.healthy()
    await Promise.all(workers.map((w) => w.ready()))
  }

  beforeAll(async () => {
    database = await createDatabase()
    smtp = await startSmtpSink()
    receiver = await startWebhookReceiver()
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: await freshRedisUrl(),
      ADMIN_PASSWORD,
      SMTP_URL: smtp.url,
      PUBLIC_URL: 'http://tracker.test',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      DELIVERY_BACKOFF_MS: '100',
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    }
    await startEverything(1)
    for (const statement of FAST_CLOCK) await withClient(database.url, (c) => c.query(statement))

    fired = await fireTwoAlerts(server.url, receiver)
    // both escalations are in the job engine (delayed jobs in Redis) before anything stops
    await waitUntil(async () => (await escalations()).filter((r) => r.enqueued !== null).length === 2, { what: 'both escalations handed to the job engine' })
    rows = await escalations()

    await Promise.all([server.stop(), ...workers.map((w) => w.stop())])
    stoppedAt = Date.now()
    // while nothing runs, nothing is sent; then every process starts again, with two workers
    await startEverything(2)
  }, 240_000)
  afterAll(async () => {
    await killAllWorkers()
    await killAllServers()
    await smtp?.close()
    await receiver?.close()
    await database?.drop()
  })

  it('stopped every process before the escalations were due', () => {
    expect(rows.map((r) => r.state)).toEqual(['waiting', 'waiting'])
    for (const row of rows) expect(stoppedAt).toBeLessThan(new Date(row.due).getTime())
  })

  it('sends an alert still open at its time to each contact once, though two workers share the jobs', async () => {
    await waitUntil(async () => (await escalations()).every((r) => r.state !== 'waiting'), { timeoutMs: ESCALATED_WITHIN, everyMs: 200, what: 'both escalations decided' })
    await waitUntil(async () => smtp.to('lead@example.test').length >= 1 && receiver.received.length >= 1, { timeoutMs: 30_000, what: 'the escalation mail and POST' })
    await waitUntil(async () => withClient(database.url, async (c) => (await c.query("SELECT 1 FROM deliveries WHERE state IN ('pending', 'sending')")).rowCount === 0), { what: 'every delivery settled' })
    const late = rows.find((r) => r.alert_id === fired.late.id)!
    expectEscalatedOnce(smtp, receiver, fired, new Date(late.due))
    expect((await escalations()).find((r) => r.alert_id === fired.late.id)!.state).toBe('escalated')
  }, ESCALATED_WITHIN + 60_000)

  it('escalates an alert acknowledged in time to nobody', async () => {
    expect((await escalations()).find((r) => r.alert_id === fired.seen.id)!.state).toBe('not_needed')
    const escalationDeliveries = await withClient(database.url, async (c) => (await c.query("SELECT alert_id, channel, state FROM deliveries WHERE kind = 'escalation' ORDER BY channel")).rows)
    expect(escalationDeliveries).toEqual([
      { alert_id: fired.late.id, channel: 'email', state: 'sent' },
      { alert_id: fired.late.id, channel: 'webhook', state: 'sent' },
    ])
  })
})

describe('escalation on the embedded default (PGlite, jobs in the server), restarted on the same data folder', () => {
  let database: Awaited<ReturnType<typeof freshDatabaseEnv>>
  let smtp: SmtpSink
  let receiver: WebhookReceiver
  let app: FastifyInstance | undefined
  let base: string

  async function start(): Promise<void> {
    const config = loadConfig({
      ...database.env, ADMIN_PASSWORD, LOG_LEVEL: 'warn', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', JOBS_IN_PROCESS: 'true',
      SMTP_URL: smtp.url, PUBLIC_URL: 'http://tracker.test', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_BACKOFF_MS: '100',
    })
    // the test opens the copied PGlite folder directly (the lock and admin socket belong to `npm start`)
    config.dataDir = database.env.PGLITE_DIR!
    app = await buildApp(config, { logStream: new Writable({ write: (_chunk, _encoding, done) => done() }), announce: () => {} })
    await app.ready()
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  }
  const escalations = async () => (await app!.db.selectFrom('escalations').select(['alert_id', 'state', 'due', 'enqueued']).orderBy('alert_id').execute()) as EscalationRow[]

  beforeAll(async () => {
    database = await freshDatabaseEnv('pglite')
    smtp = await startSmtpSink()
    receiver = await startWebhookReceiver()
    await start()
    for (const statement of FAST_CLOCK) await sql.raw(statement).execute(app!.db)
  }, 240_000)
  afterAll(async () => {
    await app?.close()
    await smtp?.close()
    await receiver?.close()
    await database?.drop()
  })

  it('takes escalate_after_minutes and escalation contacts on an area, and answers a bad one with a 400 naming it', async () => {
    const admin = (await signIn(base, 'admin', ADMIN_PASSWORD)).key
    const noMail = await created(base, '/api/users', admin, { username: 'no-mail', password: 'pw-no-mail-secret', role: 'viewer' })
    const area: AreaFeature = await created(base, '/api/areas', admin, { type: 'Feature', geometry: square(100, 40, 1), properties: { name: 'Plant' } })
    expect(area.properties).toMatchObject({ escalate_after_minutes: null, escalation_contacts: { users: [], webhooks: [] } })
    const patch = (properties: object) => call(base, 'PATCH', area.properties.url, admin, { properties })

    const cases: [properties: object, field: string, value: unknown][] = [
      [{ escalate_after_minutes: 0 }, '/properties/escalate_after_minutes', 0],
      [{ escalate_after_minutes: 10_081 }, '/properties/escalate_after_minutes', 10_081],
      [{ escalate_after_minutes: 1.5 }, '/properties/escalate_after_minutes', 1.5],
      [{ escalation_contacts: { users: [2_000_000_000] } }, '/properties/escalation_contacts/users/0', 2_000_000_000],
      [{ escalation_contacts: { users: [noMail.id] } }, '/properties/escalation_contacts/users/0', noMail.id],
      [{ escalation_contacts: { webhooks: [77_777] } }, '/properties/escalation_contacts/webhooks/0', 77_777],
      [{ escalation_contacts: { users: Array.from({ length: 51 }, (_, i) => i + 1) } }, '/properties/escalation_contacts/users', undefined],
      [{ escalation_contacts: { people: [1] } }, '/properties/escalation_contacts/people', undefined],
    ]
    for (const [properties, field, value] of cases) {
      const refused = await patch(properties)
      expect(refused.status, JSON.stringify(refused.body)).toBe(400)
      expect(refused.body.errors[0], JSON.stringify(properties)).toMatchObject({ field, in: 'body', ...(value !== undefined && { value }) })
    }
    const unchanged = await call(base, 'GET', area.properties.url, admin)
    expect(unchanged.body.properties).toMatchObject({ version: 1, escalate_after_minutes: null })

    const changed = await patch({ escalate_after_minutes: 30 })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body.properties).toMatchObject({ escalate_after_minutes: 30, escalation_contacts: { users: [], webhooks: [] }, version: 2 })
    const history = await call(base, 'GET', `${area.properties.url}/history`, admin)
    expect(history.status, JSON.stringify(history.body)).toBe(200)
    expect(history.body.entries.at(-1)).toMatchObject({ action: 'edited', changes: { escalate_after_minutes: { before: null, after: 30 } } })
  })

  it('sends an alert still open at its time once, after a restart, and an alert acknowledged in time to nobody', async () => {
    const fired = await fireTwoAlerts(base, receiver)
    await waitUntil(async () => (await escalations()).filter((r) => r.enqueued !== null).length === 2, { what: 'both escalations handed to the job engine' })
    const rows = await escalations()
    expect(rows.map((r) => r.state)).toEqual(['waiting', 'waiting'])

    // the in-process engine's delayed jobs end with the process; the rows bring them back
    await app!.close()
    app = undefined
    for (const row of rows) expect(Date.now()).toBeLessThan(new Date(row.due).getTime())
    await start()

    await waitUntil(async () => (await escalations()).every((r) => r.state !== 'waiting'), { timeoutMs: ESCALATED_WITHIN, everyMs: 200, what: 'both escalations decided' })
    await waitUntil(async () => (await app!.deliveries.counts()).pending + (await app!.deliveries.counts()).sending === 0, { what: 'every delivery settled' })
    const after = await escalations()
    expect(after.find((r) => r.alert_id === fired.late.id)!.state).toBe('escalated')
    expect(after.find((r) => r.alert_id === fired.seen.id)!.state).toBe('not_needed')
    expectEscalatedOnce(smtp, receiver, fired, new Date(rows.find((r) => r.alert_id === fired.late.id)!.due))
  }, ESCALATED_WITHIN + 120_000)
})
