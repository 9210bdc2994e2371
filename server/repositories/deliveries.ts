import { sql, type Kysely, type Selectable } from 'kysely'
import type { Database, DeliveriesTable } from '../../db/schema.ts'
import type { Delivery, DeliveryState } from '../../contracts/deliveries.ts'
import { ConflictError, NotFoundError } from '../errors.ts'

const iso = (at: Date | string) => new Date(at).toISOString()

export type DeliveryRow = Selectable<DeliveriesTable>
/** a delivery being sent: its row and what it sends */
export type ClaimedDelivery = DeliveryRow & { payload: Record<string, unknown> }

/** an error kept on a delivery is cut to this: a server's answer can be long */
const MAX_ERROR = 500

export function deliveryView(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    kind: row.kind,
    channel: row.channel,
    state: row.state,
    alert_id: row.alert_id,
    to: row.address,
    attempts: row.attempts,
    last_error: row.last_error,
    created: iso(row.created),
    last_attempt: row.last_attempt ? iso(row.last_attempt) : null,
    sent: row.sent ? iso(row.sent) : null,
  }
}

/** The job of a batch of deliveries is named after its first; a retry an admin asks for is a job of its own (the engine keeps the failed one under its id). */
export const batchJobId = (firstId: number) => `deliveries-${firstId}`
export const retryJobId = (row: { id: number; retries: number }) => `delivery-${row.id}-retry-${row.retries}`

/**
 * What the worker and the admins do with deliveries. A send is recorded
 * before it is made (`claim`: state `sending`, one more attempt), and a
 * delivery already `sent` or `failed` is never claimed again, so a job run
 * twice (a duplicate, or again after its worker died) sends nothing more
 * once the first run recorded its success.
 */
export function deliveryRepository(db: Kysely<Database>) {
  return {
    /** Records an attempt at each of `ids` still to be sent, in one statement; returns those (the rest were sent, failed or are gone). */
    async claim(ids: number[]): Promise<ClaimedDelivery[]> {
      if (ids.length === 0) return []
      return db
        .updateTable('deliveries')
        .from('delivery_payloads')
        .set({ state: 'sending', attempts: sql<number>`deliveries.attempts + 1`, last_attempt: sql<Date>`now()` })
        .whereRef('delivery_payloads.id', '=', 'deliveries.payload_id')
        .where('deliveries.id', '=', sql<number>`any(${ids}::integer[])`)
        .where('deliveries.state', 'in', ['pending', 'sending'])
        .returningAll('deliveries')
        .returning('delivery_payloads.payload')
        .execute()
    },

    async markSent(ids: number[]): Promise<void> {
      if (ids.length === 0) return
      await db.updateTable('deliveries').set({ state: 'sent', sent: sql<Date>`now()`, last_error: null }).where('id', '=', sql<number>`any(${ids}::integer[])`).execute()
    },

    /** An attempt failed and another will follow. */
    async recordError(id: number, error: string): Promise<void> {
      await db.updateTable('deliveries').set({ state: 'pending', last_error: error.slice(0, MAX_ERROR) }).where('id', '=', id).where('state', '=', 'sending').execute()
    },

    /** Gives up on those of `ids` not sent yet. */
    async markFailed(ids: number[], error: string): Promise<void> {
      if (ids.length === 0) return
      await db
        .updateTable('deliveries')
        .set({ state: 'failed', last_error: error.slice(0, MAX_ERROR) })
        .where('id', '=', sql<number>`any(${ids}::integer[])`)
        .where('state', 'in', ['pending', 'sending'])
        .execute()
    },

    async list(options: { state?: DeliveryState | undefined; cursor?: number | undefined; limit: number }): Promise<{ deliveries: Delivery[]; nextCursor: number | null }> {
      let query = db.selectFrom('deliveries').selectAll().orderBy('id', 'desc').limit(options.limit + 1)
      if (options.state) query = query.where('state', '=', options.state)
      if (options.cursor !== undefined) query = query.where('id', '<', options.cursor)
      const rows = await query.execute()
      const page = rows.slice(0, options.limit)
      return { deliveries: page.map(deliveryView), nextCursor: rows.length > options.limit ? page[page.length - 1]!.id : null }
    },

    async get(id: number): Promise<DeliveryRow> {
      const row = await db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst()
      if (!row) throw new NotFoundError('delivery', id)
      return row
    },

    /** A failed delivery goes back to pending, as a new job; the attempts count on. */
    async retry(id: number): Promise<DeliveryRow> {
      const row = await db
        .updateTable('deliveries')
        .set({ state: 'pending', retries: sql<number>`retries + 1`, enqueued: sql<Date>`now()`, job: sql<string>`'delivery-' || id || '-retry-' || (retries + 1)` })
        .where('id', '=', id)
        .where('state', '=', 'failed')
        .returningAll()
        .executeTakeFirst()
      if (row) return row
      const existing = await this.get(id)
      throw new ConflictError('/id', id, `delivery ${id} is ${existing.state}: only a failed delivery can be retried`)
    },

    async counts(): Promise<Record<DeliveryState, number>> {
      const rows = await db.selectFrom('deliveries').select(['state', sql<string>`count(*)`.as('n')]).groupBy('state').execute()
      const counts: Record<DeliveryState, number> = { pending: 0, sending: 0, sent: 0, failed: 0 }
      for (const r of rows) counts[r.state] = Number(r.n)
      return counts
    },
  }
}

export type DeliveryRepository = ReturnType<typeof deliveryRepository>
