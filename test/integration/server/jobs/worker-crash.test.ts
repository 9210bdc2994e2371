import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpSink, type SmtpSink } from '../../../helpers/smtp-sink.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../../helpers/webhook-receiver.ts'
import { DELIVERY_BACKENDS, deploy, messageIdOf, tally, type Deployment } from '../../../helpers/delivery-deployment.ts'
import { START_TIMEOUT } from '../../../helpers/server-process.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// kill -9 of the process running the jobs in the middle of a batch: a worker
// process on PostgreSQL (BullMQ hands its jobs to the others once their lock
// lapses, JOB_LOCK_MS), `npm start` itself on the embedded default (its
// dispatcher hands every unfinished delivery over again when it restarts).
//
// What "exactly once" can honestly mean here. A delivery is recorded as sent
// after the mail server (or the webhook endpoint) accepted it. A process
// killed between the two never records it, and the next attempt sends it
// again: no sender can avoid this (RFC 5321 §4.1.1.4, the duplicate a
// connection lost before the reply makes). What it can do is send the repeat
// with the same Message-ID (webhook-id), which is how a mailbox or a Standard
// Webhooks receiver drops it. So the test lets the first part of a batch
// through, holds the answers (the SMTP server's 250, the endpoint's 204)
// while the rest is in flight, kills the process, then lets the held
// answers go out to nobody: the receivers keep those messages, as a real
// server that had taken them does, and their senders never learn it. Then
// it asserts:
// - every delivery arrives, counted the way a receiver dedupes: the distinct
//   Message-IDs (webhook-ids) are exactly those of the deliveries;
// - a repeat happens only to a message whose acceptance its sender never
//   heard, once, with the same id; and each such message is repeated (the
//   hazard was really exercised: the kill hit sends in flight);
// - nothing else arrives twice.

describe.each(DELIVERY_BACKENDS)('kill -9 in the middle of a batch, on %s', (backend) => {
  let smtp: SmtpSink
  let hook: WebhookReceiver
  let deployment: Deployment
  const PEOPLE = 3
  /** alerts delivered before the kill, of INCIDENTS in all */
  const BEFORE = 3
  const INCIDENTS = 8

  beforeAll(async () => {
    smtp = await startSmtpSink()
    hook = await startWebhookReceiver()
    // one worker at first: the sends in flight at the kill are all its own
    deployment = await deploy(backend, { smtp, workers: 1 })
    const { api } = deployment
    await api.area('Port', 'info', { lon: 30, lat: -10, half: 2 })
    for (let i = 0; i < PEOPLE; i++) await api.person(`crash-${i}@example.test`, { email_alerts: true, min_severity: 'info', areas: 'all' })
    await api.webhook(hook, { min_severity: 'info', areas: 'all' })
  }, 2 * START_TIMEOUT)

  afterAll(async () => {
    smtp?.release()
    hook?.release()
    await deployment?.close()
    await smtp?.close()
    await hook?.close()
  }, 60_000)

  it('delivers every mail and webhook after the restart, a repeat only for what was in flight, with the same id', async () => {
    const { api } = deployment
    // the batch's first part arrives, and is recorded as sent
    for (let i = 0; i < BEFORE; i++) await api.incident(`Crash ${i}`, 'high', { lon: 30 + i / 10, lat: -10 })
    await api.settled()
    expect(smtp.mails).toHaveLength(BEFORE * PEOPLE)
    // the rest is saved with the answers held: mails and webhooks wait on them when the process is killed
    smtp.hold()
    hook.hold()
    for (let i = BEFORE; i < INCIDENTS; i++) await api.incident(`Crash ${i}`, 'high', { lon: 30 + i / 10, lat: -10 })
    await waitUntil(() => smtp.holding().length > 0 && hook.holding().length > 0, { timeoutMs: 30_000, what: 'mails and webhooks waiting for their answer' })
    const doomed = backend === 'postgres' ? deployment.workers.shift()! : deployment.server
    await doomed.kill()
    expect(doomed.exit()?.signal).toBe('SIGKILL')
    // the receivers see the senders hang up, then take the messages all the same
    await waitUntil(() => [...smtp.holding(), ...hook.holding()].every((held) => held.senderGone), { what: 'the receivers to see the killed sender hang up' })
    const inFlight = { mail: smtp.holding().map((m) => m.messageId), webhook: hook.holding().map((h) => h.id) }
    smtp.release()
    hook.release()

    // the restart, and on PostgreSQL a second worker to share what is left
    if (backend === 'postgres') await Promise.all([deployment.addWorker(), deployment.addWorker()])
    else await deployment.restartServer()
    const deliveries = await api.settled(60_000)

    expect(deliveries.filter((d) => d.channel === 'email')).toHaveLength(INCIDENTS * PEOPLE)
    expect(deliveries.filter((d) => d.channel === 'webhook')).toHaveLength(INCIDENTS * 2) // each alert, and its opening
    expect(deliveries.filter((d) => d.state !== 'sent')).toEqual([])

    const expected = {
      mail: deliveries.filter((d) => d.channel === 'email').map(messageIdOf).sort(),
      webhook: deliveries.filter((d) => d.channel === 'webhook').map(messageIdOf).sort(),
    }
    const arrived = {
      mail: smtp.mails.map((m) => ({ id: m.messageId, unheard: m.unheard })),
      webhook: hook.received.map((r) => ({ id: r.id, unheard: r.unheard })),
    }
    for (const channel of ['mail', 'webhook'] as const) {
      const counts = tally(arrived[channel].map((a) => a.id))
      const unheard = arrived[channel].filter((a) => a.unheard).map((a) => a.id)
      // every delivery, once, as a receiver that drops repeats keeps them
      expect([...counts.keys()].sort(), channel).toEqual(expected[channel])
      // the kill hit sends in flight, and exactly those were taken without their sender hearing it
      expect(unheard.length, channel).toBeGreaterThan(0)
      expect(unheard.sort(), channel).toEqual([...inFlight[channel]].sort())
      // each of those came again, once, with the same id; nothing else came twice
      const repeated = [...counts].filter(([, n]) => n > 1)
      expect(repeated.sort(), channel).toEqual(unheard.map((id) => [id, 2]).sort())
      expect(arrived[channel], channel).toHaveLength(expected[channel].length + unheard.length)
    }
    expect(hook.rejected).toBe(0)
  }, 120_000)
})
