import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { DeliveryRepository, DeliveryRow } from '../repositories/deliveries.ts'
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
 * Sends one delivery. The attempt is recorded before the send (`claim`), and
 * a delivery already sent is skipped, so a job that runs twice sends once,
 * unless its worker died between the send and its record: then the message
 * goes again with the same Message-ID or webhook-id, which is how mail
 * clients and Standard Webhooks receivers recognise a repeat.
 */
export function deliverHandler(deps: DeliverDeps): JobHandler<'deliver'> {
  return {
    async run({ deliveryId }, context) {
      const row = await deps.deliveries.claim(deliveryId)
      if (!row) return // sent, failed, or gone: nothing to do
      try {
        if (row.channel === 'email') await sendMail(row)
        else await sendWebhook(row)
      } catch (error) {
        if (!(error instanceof PermanentError) && !context.lastAttempt) await deps.deliveries.recordError(row.id, (error as Error).message)
        throw error
      }
      await deps.deliveries.markSent(row.id)
    },
    async giveUp({ deliveryId }, error) {
      await deps.deliveries.markFailed(deliveryId, error.message)
    },
  }

  async function sendMail(row: DeliveryRow) {
    const payload = row.payload as unknown as AlertMailPayload
    const ackKeys = new Map<number, string>()
    if (row.user_id !== null) {
      for (const alertId of alertIdsOf(payload)) ackKeys.set(alertId, await deps.acknowledgeLinks.create(alertId, row.user_id, deps.ackLinkTtlHours))
    }
    await deps.mailer.send(composeAlertMail(payload, row.address, mailMessageId(row, deps.publicUrl), { publicUrl: deps.publicUrl, ackKeys }))
  }

  async function sendWebhook(row: DeliveryRow) {
    const hook = row.webhook_id === null ? undefined : await deps.db.selectFrom('webhooks').select(['url', 'secret']).where('id', '=', row.webhook_id).executeTakeFirst()
    if (!hook) throw new PermanentError('the webhook was deleted before this could be sent')
    // the same JSON as the socket frame, with `event` (the stable id of the notification); a webhook has no stream position (`id`)
    const body = JSON.stringify(row.event === null ? row.payload : { ...row.payload, event: Number(row.event) })
    await postWebhook({ url: hook.url, secret: hook.secret, id: webhookMessageId(row), body }, deps.outbound, deps.timeoutMs)
  }
}
