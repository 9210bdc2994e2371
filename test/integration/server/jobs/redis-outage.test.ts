import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateRedis, type PrivateRedis } from '../../../helpers/redis-server.ts'
import { startSmtpSink, type SmtpSink } from '../../../helpers/smtp-sink.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../../helpers/webhook-receiver.ts'
import { deploy, messageIdOf, tally, type Deployment } from '../../../helpers/delivery-deployment.ts'
import { START_TIMEOUT } from '../../../helpers/server-process.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// Redis, which carries the job queue between the server and the workers,
// goes away for 10 s while alerts are being saved, with sends in flight.
// Nothing is lost: the saves go on (what must be delivered is decided in
// the save's transaction, in PostgreSQL), the server hands the new
// deliveries to the queue once Redis is back, and the workers pick up again.
// Nothing arrives twice: a send finished during the outage is recorded in
// PostgreSQL, so its job, taken again when its lock is found lapsed, finds
// nothing left to send.
//
// The Redis here keeps its data (AOF), as a job queue's Redis must in
// production (docker-compose.yml runs it so). Only the PostgreSQL backend
// has Redis: on the embedded default the jobs run inside `npm start`, with
// no Redis to lose, so there is no embedded half to this test.

const OUTAGE_MS = 10_000

describe('Redis down for 10 s, on PostgreSQL with two workers', () => {
  let redisDir: string
  let redis: PrivateRedis
  let smtp: SmtpSink
  let hook: WebhookReceiver
  let deployment: Deployment
  const PEOPLE = 3
  let saved = 0

  beforeAll(async () => {
    redisDir = await mkdtemp(join(tmpdir(), 'redis-outage-jobs-'))
    redis = await privateRedis({ dir: redisDir, appendOnly: true })
    await redis.start()
    smtp = await startSmtpSink()
    hook = await startWebhookReceiver()
    deployment = await deploy('postgres', { smtp, redisUrl: redis.url, workers: 2 })
    const { api } = deployment
    await api.area('Plain', 'info', { lon: 100, lat: 40, half: 2 })
    for (let i = 0; i < PEOPLE; i++) await api.person(`redis-${i}@example.test`, { email_alerts: true, min_severity: 'info', areas: 'all' })
    await api.webhook(hook, { min_severity: 'info', areas: 'all' })
  }, 2 * START_TIMEOUT)

  afterAll(async () => {
    smtp?.release()
    await deployment?.close()
    await redis?.stop()
    await smtp?.close()
    await hook?.close()
    if (redisDir) await rm(redisDir, { recursive: true, force: true })
  }, 60_000)

  const save = () => deployment.api.incident(`Storm ${saved++}`, 'high', { lon: 100 + saved / 20, lat: 40 })

  it('loses nothing and sends nothing twice', async () => {
    const { api } = deployment
    for (let i = 0; i < 4; i++) await save()
    await waitUntil(() => smtp.mails.length >= 2, { timeoutMs: 30_000, what: 'the first mails' })

    // sends in flight as Redis goes: they finish while it is away
    smtp.hold()
    await waitUntil(() => smtp.holding().length > 0, { timeoutMs: 30_000, what: 'a mail waiting for its answer' })
    await redis.stop()
    const down = Date.now()
    smtp.release()

    // saves go on meanwhile, and succeed
    for (let i = 0; i < 3; i++) await save()
    await waitUntil(async () => (await fetch(`${api.baseUrl}/api/health`).then((r) => r.json())).notifications.ok === false, {
      what: 'the server to notice Redis is gone',
    })
    for (let i = 0; i < 3; i++) await save()
    await waitUntil(() => Date.now() - down >= OUTAGE_MS, { timeoutMs: 2 * OUTAGE_MS, everyMs: 100, what: '10 s of outage' })
    for (let i = 0; i < 3; i++) await save()

    await redis.start()
    for (let i = 0; i < 2; i++) await save()
    const deliveries = await api.settled(60_000)

    expect(deliveries.filter((d) => d.state !== 'sent')).toEqual([])
    const mails = deliveries.filter((d) => d.channel === 'email')
    const posts = deliveries.filter((d) => d.channel === 'webhook')
    expect(mails).toHaveLength(saved * PEOPLE)
    expect(posts).toHaveLength(saved * 2) // each alert, and its opening

    // every delivery, and each once
    const mailCounts = tally(smtp.mails.map((m) => m.messageId))
    expect([...mailCounts.keys()].sort()).toEqual(mails.map(messageIdOf).sort())
    expect([...mailCounts].filter(([, n]) => n > 1)).toEqual([])
    const postCounts = tally(hook.received.map((r) => r.id))
    expect([...postCounts.keys()].sort()).toEqual(posts.map(messageIdOf).sort())
    expect([...postCounts].filter(([, n]) => n > 1)).toEqual([])
    for (let i = 0; i < PEOPLE; i++) expect(smtp.to(`redis-${i}@example.test`)).toHaveLength(saved)
    // the workers outlived the outage
    for (const worker of deployment.workers) expect(worker.exit(), worker.describe()).toBeUndefined()
  }, 120_000)
})
