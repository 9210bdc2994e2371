import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpSink, type SmtpSink } from '../../../helpers/smtp-sink.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../../helpers/webhook-receiver.ts'
import { DELIVERY_BACKENDS, deploy, messageIdOf, type Deployment, type Person } from '../../../helpers/delivery-deployment.ts'
import { START_TIMEOUT } from '../../../helpers/server-process.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// Issue #19's first done-when, through real processes: an alert for an area
// a user subscribed to reaches their mailbox (a real SMTP server) and a
// matching webhook (a real HTTP endpoint that verifies the signature), once
// each, within 2 s; users who did not subscribe, or whose filter does not
// match, and webhooks that do not match, get nothing. On PostgreSQL the
// server leaves the jobs to two `npm run worker` processes; on the embedded
// default `npm start` runs them itself.

describe.each(DELIVERY_BACKENDS)('an alert on %s', (backend) => {
  let smtp: SmtpSink
  const hooks: Record<'everything' | 'harbour' | 'airport' | 'urgentOnly', WebhookReceiver> = {} as never
  let deployment: Deployment
  let subscriber: Person
  let harbourWatcher: Person
  const nobody: Person[] = []
  let harbour: number

  beforeAll(async () => {
    smtp = await startSmtpSink()
    for (const name of ['everything', 'harbour', 'airport', 'urgentOnly'] as const) hooks[name] = await startWebhookReceiver()
    deployment = await deploy(backend, { smtp, workers: 2 })
    const { api } = deployment
    harbour = await api.area('Harbour', 'info', { lon: 10, lat: 50, half: 1 })
    const airport = await api.area('Airport', 'info', { lon: 20, lat: 50, half: 1 })

    subscriber = await api.person('subscriber@example.test', { email_alerts: true, min_severity: 'medium', areas: 'all' })
    harbourWatcher = await api.person('harbour@example.test', { email_alerts: true, min_severity: 'high', areas: [harbour] })
    nobody.push(
      await api.person('never-subscribed@example.test'),
      await api.person('turned-off@example.test', { email_alerts: false, min_severity: 'info', areas: 'all' }),
      await api.person('airport@example.test', { email_alerts: true, min_severity: 'info', areas: [airport] }),
      await api.person('urgent-only@example.test', { email_alerts: true, min_severity: 'urgent', areas: 'all' }),
    )
    await api.webhook(hooks.everything, { min_severity: 'info', areas: 'all' })
    await api.webhook(hooks.harbour, { min_severity: 'high', areas: [harbour] })
    await api.webhook(hooks.airport, { min_severity: 'info', areas: [airport] })
    await api.webhook(hooks.urgentOnly, { min_severity: 'urgent', areas: 'all' })
  }, 2 * START_TIMEOUT)

  afterAll(async () => {
    await deployment?.close()
    await smtp?.close()
    for (const hook of Object.values(hooks)) await hook.close()
  }, 60_000)

  it('reaches the subscribers’ mailboxes and the matching webhooks within 2 s, once each', async () => {
    const { api } = deployment
    const saved = Date.now()
    const incident = await api.incident('Oil spill', 'high', { lon: 10.2, lat: 50.1 })

    await waitUntil(
      () => smtp.to(subscriber.email).length > 0 && smtp.to(harbourWatcher.email).length > 0 && hooks.everything.received.length > 0 && hooks.harbour.received.length > 0,
      { timeoutMs: 2000, everyMs: 10, what: () => `both mails and both webhooks within 2 s of the save (after ${Date.now() - saved} ms: ${smtp.mails.length} mails, webhooks ${hooks.everything.received.length} + ${hooks.harbour.received.length})` },
    )

    // a webhook hears of each new alert (the socket's `alert`) and of each change of an alert's state, its opening included
    const deliveries = await api.settled()
    expect(deliveries.map((d) => [d.channel, d.kind, d.to, d.state]).sort()).toEqual([
      ['email', 'alert', harbourWatcher.email, 'sent'],
      ['email', 'alert', subscriber.email, 'sent'],
      ['webhook', 'alert', hooks.everything.url, 'sent'],
      ['webhook', 'alert', hooks.harbour.url, 'sent'],
      ['webhook', 'alert_update', hooks.everything.url, 'sent'],
      ['webhook', 'alert_update', hooks.harbour.url, 'sent'],
    ].sort())
    for (const person of [subscriber, harbourWatcher]) {
      const mails = smtp.to(person.email)
      expect(mails).toHaveLength(1)
      expect(mails[0]!.subject).toBe('[HIGH] Oil spill in Harbour')
      expect(mails[0]!.text).toContain(`http://tracker.test/?incident=${incident}`)
      expect(mails[0]!.messageId).toBe(messageIdOf(deliveries.find((d) => d.to === person.email)!))
    }
    for (const hook of [hooks.everything, hooks.harbour]) {
      const ids = deliveries.filter((d) => d.to === hook.url).map(messageIdOf)
      expect(hook.received.map((r) => r.id).sort()).toEqual(ids.sort())
      const alert = hook.received.find((r) => r.body.type === 'alert')
      expect(alert?.body).toMatchObject({
        type: 'alert',
        event: expect.any(Number),
        feature: { id: `incident:${incident}`, properties: { name: 'Oil spill', severity: 'high' } },
        areas_of_interest: [{ id: harbour, name: 'Harbour', severity: 'info' }],
      })
      const update = hook.received.find((r) => r.body.type === 'alert_update')
      expect(update?.body).toMatchObject({ type: 'alert_update', alert: { state: 'open', area: { id: harbour }, incident: { id: incident } } })
      expect(hook.rejected).toBe(0)
    }
  })

  it('sends nothing to the users who did not subscribe, or whose filter does not match, nor to the webhooks that do not match', async () => {
    await deployment.api.settled()
    for (const person of nobody) expect(smtp.to(person.email), person.email).toEqual([])
    expect(smtp.mails).toHaveLength(2)
    expect(hooks.airport.received).toEqual([])
    expect(hooks.urgentOnly.received).toEqual([])
  })

  it('refuses, as a receiver does, a POST whose signature does not verify', async () => {
    const forged = await fetch(hooks.everything.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
      body: JSON.stringify({ type: 'alert' }),
    })
    expect(forged.status).toBe(401)
    expect(hooks.everything.received.map((r) => r.id)).not.toContain('msg_forged')
  })
})
