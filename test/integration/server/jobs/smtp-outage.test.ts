import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpSink, type SmtpSink } from '../../../helpers/smtp-sink.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../../helpers/webhook-receiver.ts'
import { DELIVERY_BACKENDS, deploy, messageIdOf, tally, type Deployment } from '../../../helpers/delivery-deployment.ts'
import { START_TIMEOUT } from '../../../helpers/server-process.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// The mail server is down for 10 s while alerts come in, then back. Each
// mail is tried again with a growing backoff (shrunk here: from 200 ms,
// doubling up to 2 s) and arrives once the server is back, once; the
// webhooks, which do not go through it, arrive meanwhile. Nothing is in
// flight when the server goes (it is stopped before the alerts), so no
// message can be accepted unheard: every one must arrive exactly once.

const OUTAGE_MS = 10_000

describe.each(DELIVERY_BACKENDS)('the SMTP server down for 10 s, on %s', (backend) => {
  let smtp: SmtpSink
  let hook: WebhookReceiver
  let deployment: Deployment
  const PEOPLE = 3
  const INCIDENTS = 5

  beforeAll(async () => {
    smtp = await startSmtpSink()
    hook = await startWebhookReceiver()
    deployment = await deploy(backend, { smtp, workers: 2 })
    const { api } = deployment
    await api.area('Valley', 'info', { lon: -60, lat: 5, half: 2 })
    for (let i = 0; i < PEOPLE; i++) await api.person(`outage-${i}@example.test`, { email_alerts: true, min_severity: 'info', areas: 'all' })
    await api.webhook(hook, { min_severity: 'info', areas: 'all' })
  }, 2 * START_TIMEOUT)

  afterAll(async () => {
    await deployment?.close()
    await smtp?.close()
    await hook?.close()
  }, 60_000)

  it('delivers every mail once after the server is back, and the webhooks meanwhile', async () => {
    const { api } = deployment
    await smtp.stop()
    const down = Date.now()
    for (let i = 0; i < INCIDENTS; i++) await api.incident(`Flood ${i}`, 'urgent', { lon: -60 + i / 10, lat: 5 })

    // the webhooks are not held up by the mail server
    await waitUntil(() => hook.received.length === INCIDENTS * 2, { timeoutMs: 30_000, what: 'the webhooks, while the mail server is down' })
    // the mails are tried again and again, saying why they failed, for the whole outage
    let mails = (await api.deliveries()).filter((d) => d.channel === 'email')
    await waitUntil(async () => {
      mails = (await api.deliveries()).filter((d) => d.channel === 'email')
      return Date.now() - down >= OUTAGE_MS && mails.every((d) => d.attempts >= 2 && d.state !== 'sent')
    }, { timeoutMs: 3 * OUTAGE_MS, everyMs: 200, what: () => `10 s of outage, every mail tried twice or more: ${JSON.stringify(mails.map((d) => [d.id, d.state, d.attempts]))}` })
    expect(mails).toHaveLength(INCIDENTS * PEOPLE)
    for (const mail of mails) {
      expect(['pending', 'sending']).toContain(mail.state) // waiting for the next attempt, or in one
      expect(mail.last_error).toMatch(/ECONNREFUSED/)
    }
    expect(smtp.mails).toEqual([])

    await smtp.start()
    const deliveries = await api.settled(30_000)
    expect(deliveries.filter((d) => d.state !== 'sent')).toEqual([])
    const sentMails = deliveries.filter((d) => d.channel === 'email')
    for (const mail of sentMails) {
      expect(mail.attempts).toBeGreaterThanOrEqual(3)
      expect(mail.last_error).toBeNull()
    }

    // exactly once: every Message-ID, nothing twice, nothing taken unheard
    const received = tally(smtp.mails.map((m) => m.messageId))
    expect([...received.keys()].sort()).toEqual(sentMails.map(messageIdOf).sort())
    expect([...received.values()].every((n) => n === 1)).toBe(true)
    expect(smtp.mails.filter((m) => m.unheard)).toEqual([])
    for (let i = 0; i < PEOPLE; i++) expect(smtp.to(`outage-${i}@example.test`)).toHaveLength(INCIDENTS)

    const hooks = deliveries.filter((d) => d.channel === 'webhook')
    expect(hook.received.map((r) => r.id).sort()).toEqual(hooks.map(messageIdOf).sort())
    expect(hook.rejected).toBe(0)
  }, 120_000)
})
