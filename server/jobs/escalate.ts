import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { EscalationBody } from '../../contracts/deliveries.ts'
import { alertsByIds } from '../repositories/alerts.ts'
import type { JobHandler } from './engine.ts'

export interface EscalateDeps {
  db: Kysely<Database>
  /** new deliveries were decided: hand them to the engine */
  wakeDispatcher: () => void
  onError: (message: string, error?: unknown) => void
}

/**
 * Runs when an escalation is due (a delayed job; the due time is also in the
 * escalation's row, so it outlives every process). An alert still open is
 * sent to the area's escalation contacts, once: the row leaves `waiting` in
 * the same transaction that decides the deliveries. An alert acknowledged or
 * resolved meanwhile, or of an area that no longer escalates, escalates to
 * nobody. The contacts are the area's at that moment.
 */
export function escalateHandler(deps: EscalateDeps): JobHandler<'escalate'> {
  return {
    async run({ alertId }) {
      const decided = await deps.db.transaction().execute(async (trx) => {
        const escalation = await trx.selectFrom('escalations').selectAll().where('alert_id', '=', alertId).forUpdate().executeTakeFirst()
        if (!escalation || escalation.state !== 'waiting') return false
        if (new Date(escalation.due).getTime() > Date.now() + 1000) throw new Error(`escalation of alert ${alertId} is not due until ${new Date(escalation.due).toISOString()}`)
        // locked until this commits: an acknowledgement racing the escalation waits for it, or is seen here
        const state = await trx.selectFrom('alerts').select('state').where('id', '=', alertId).forShare().executeTakeFirst()
        const area = await trx.selectFrom('areas_of_interest').select(['escalate_after_minutes', 'escalation_user_ids', 'escalation_webhook_ids']).where('id', '=', escalation.area_id).executeTakeFirst()
        // read in the transaction: a read on another connection while it holds one deadlocks PGlite's only one (and can drain a pool)
        const alert = state?.state === 'open' ? (await alertsByIds(trx, [alertId]))[0] : undefined
        // acknowledged or resolved in time, or the area stopped escalating meanwhile: nobody is told
        if (!alert || alert.state !== 'open' || !area || area.escalate_after_minutes === null) {
          await trx.updateTable('escalations').set({ state: 'not_needed', done: sql<Date>`now()` }).where('alert_id', '=', alertId).execute()
          return false
        }
        const body: EscalationBody = { type: 'alert_escalation', alert, unacknowledged_minutes: escalation.minutes }
        // kept once, for every contact it goes to
        const { id: payloadId } = await trx.insertInto('delivery_payloads').values({ payload: JSON.stringify(body) }).returning('id').executeTakeFirstOrThrow()
        let decidedDeliveries = 0n
        if (area.escalation_user_ids.length > 0) {
          const { numInsertedOrUpdatedRows } = await trx
            .insertInto('deliveries')
            .columns(['key', 'kind', 'channel', 'alert_id', 'user_id', 'address', 'payload_id'])
            .expression((eb) =>
              eb.selectFrom('users')
                .select([
                  sql<string>`'escalation/' || ${alertId} || '/email/' || id`.as('key'),
                  sql<string>`'escalation'`.as('kind'),
                  sql<string>`'email'`.as('channel'),
                  sql<number>`${alertId}::integer`.as('alert_id'),
                  'id',
                  sql<string>`email`.as('address'),
                  sql<string>`${payloadId}::bigint`.as('payload_id'),
                ])
                .where('id', '=', sql<number>`any(${area.escalation_user_ids}::integer[])`)
                .where('email', 'is not', null),
            )
            .onConflict((oc) => oc.column('key').doNothing())
            .executeTakeFirst()
          decidedDeliveries += numInsertedOrUpdatedRows ?? 0n
        }
        if (area.escalation_webhook_ids.length > 0) {
          const { numInsertedOrUpdatedRows } = await trx
            .insertInto('deliveries')
            .columns(['key', 'kind', 'channel', 'alert_id', 'webhook_id', 'address', 'payload_id'])
            .expression((eb) =>
              eb.selectFrom('webhooks')
                .select([
                  sql<string>`'escalation/' || ${alertId} || '/webhook/' || id`.as('key'),
                  sql<string>`'escalation'`.as('kind'),
                  sql<string>`'webhook'`.as('channel'),
                  sql<number>`${alertId}::integer`.as('alert_id'),
                  'id',
                  'url',
                  sql<string>`${payloadId}::bigint`.as('payload_id'),
                ])
                .where('id', '=', sql<number>`any(${area.escalation_webhook_ids}::integer[])`),
            )
            .onConflict((oc) => oc.column('key').doNothing())
            .executeTakeFirst()
          decidedDeliveries += numInsertedOrUpdatedRows ?? 0n
        }
        // contacts that lost their email or webhooks deleted since: nobody names the body, so it is not kept (as the outbox trigger does)
        if (decidedDeliveries === 0n) await trx.deleteFrom('delivery_payloads').where('id', '=', payloadId).execute()
        await trx.updateTable('escalations').set({ state: 'escalated', done: sql<Date>`now()` }).where('alert_id', '=', alertId).execute()
        return true
      })
      if (decided) deps.wakeDispatcher()
    },
    async giveUp({ alertId }, error) {
      deps.onError(`escalation of alert ${alertId} could not be decided`, error)
    },
  }
}
