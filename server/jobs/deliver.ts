import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { ClaimedDelivery, DeliveryRepository, DeliveryRow } from '../repositories/deliveries.ts'
import type { AcknowledgeLinkRepository } from '../repositories/acknowledge-links.ts'
import type { JobHandler } from './engine.ts'
import { PermanentError } from './engine.ts'
import type { Mailer } from './mailer.ts'
import type { OutboundPolicy } from './outbound-address.ts'
import { postWebhook } from './webhook-sender.ts'
import { alertIdsOf, composeAlertMail, type AlertMailPayload } from './alert-mail.ts'

export interface DeliverDeps {
  db: Kysely<Database>
  deliveries: DeliveryRepository
  acknowledgeLinks: AcknowledgeLinkRepository
  mailer: Mailer
  outbound: OutboundPolicy
  publicUrl: string
  ackLinkTtlHours: number
  timeoutMs: number
}

/** The stable ids a receiver can drop a repeat by: the same on every attempt of one delivery. */
export const webhookMessageId = (row: Pick<DeliveryRow, 'id'>) => `msg_delivery_${row.id}`
export const mailMessageId = (row: Pick<DeliveryRow, 'id'>, publicUrl: string) => `<delivery-${row.id}@${new URL(publicUrl).hostname || hostname()}>`

/**
 * Sends a batch of deliveries (one notification's, on one channel). Each
 * attempt is recorded before the sends (`claim`), and a delivery already
 * sent is skipped, so a job that runs twice sends each message once,
 * unless its worker died between a send and the record of the batch: then
 * those messages go again with the same Message-ID or webhook-id, which is
 * how mail clients and Standard Webhooks receivers recognise a repeat.
 *
 * A message that can never go (a refused address, a deleted webhook) fails
 * on its own; one that may go later (the mail server away) keeps its
 * delivery pending, and the job is retried for those alone.
 */
export function deliverHandler(deps: DeliverDeps): JobHandler<'deliver'> {
  return {
    async run({ deliveryIds }, context) {
      const rows = await deps.deliveries.claim(deliveryIds)
      if (rows.length === 0) return // sent, failed, or gone: nothing to do
      const ackKeys = await acknowledgeKeys(rows)
      const outcomes = await Promise.allSettled(rows.map((row) => (row.channel === 'email' ? sendMail(row, ackKeys) : sendWebhook(row))))
      const sent: number[] = []
      const permanent: { id: number; error: Error }[] = []
      const transient: { id: number; error: Error }[] = []
      outcomes.forEach((outcome, i) => {
        const id = rows[i]!.id
        if (outcome.status === 'fulfilled') sent.push(id)
        else {
          const error = outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason))
          ;(error instanceof PermanentError ? permanent : transient).push({ id, error })
        }
      })
      await deps.deliveries.markSent(sent)
      for (const { id, error } of permanent) await deps.deliveries.markFailed([id], error.message)
      if (transient.length > 0) {
        for (const { id, error } of transient) {
          if (context.lastAttempt) await deps.deliveries.markFailed([id], error.message)
          else await deps.deliveries.recordError(id, error.message)
        }
        throw new Error(`${transient.length} of ${rows.length} deliveries failed, and will be tried again: ${transient[0]!.error.message}`)
      }
      // a job of failures only (a retry by hand that failed again) ends failed, so whoever started it is told
      if (permanent.length > 0 && sent.length === 0) throw new PermanentError(permanent[0]!.error.message)
    },
    async giveUp({ deliveryIds }, error) {
      await deps.deliveries.markFailed(deliveryIds, error.message)
    },
  }

  /** The acknowledge links of every mail in the batch, made in one statement: "alertId/deliveryId" → key. */
  async function acknowledgeKeys(rows: ClaimedDelivery[]): Promise<Map<string, string>> {
    const wanted = rows
      .filter((row) => row.channel === 'email' && row.user_id !== null)
      .flatMap((row) => alertIdsOf(row.payload as unknown as AlertMailPayload).map((alertId) => ({ alertId, userId: row.user_id!, deliveryId: row.id })))
    const keys = await deps.acknowledgeLinks.create(wanted, deps.ackLinkTtlHours)
    return new Map(wanted.map((w, i) => [`${w.alertId}/${w.deliveryId}`, keys[i]!]))
  }

  async function sendMail(row: ClaimedDelivery, allKeys: Map<string, string>) {
    const payload = row.payload as unknown as AlertMailPayload
    const ackKeys = new Map<number, string>()
    for (const alertId of alertIdsOf(payload)) {
      const key = allKeys.get(`${alertId}/${row.id}`)
      if (key) ackKeys.set(alertId, key)
    }
    await deps.mailer.send(composeAlertMail(payload, row.address, mailMessageId(row, deps.publicUrl), { publicUrl: deps.publicUrl, ackKeys }))
  }
  async function sendWebhook(row: ClaimedDelivery) {
    const hook = row.webhook_id === null ? undefined : await deps.db.selectFrom('webhooks').select(['url', 'secret']).where('id', '=', row.webhook_id).executeTakeFirst()
    if (!hook) throw new PermanentError('the webhook was deleted before this could be sent')
    // the same JSON as the socket frame, with `event` (the stable id of the notification); a webhook has no stream position (`id`)
    const body = JSON.stringify(row.event === null ? row.payload : { ...row.payload, event: Number(row.event) })
    await postWebhook({ url: hook.url, secret: hook.secret, id: webhookMessageId(row), body }, deps.outbound, deps.timeoutMs)
  }
}
