import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { JobEngine, NewJob } from './engine.ts'
import { batchJobId } from '../repositories/deliveries.ts'

/** rows taken per query: a backlog is worked through in passes of this many */
const BATCH = 500
/**
 * deliveries per job: one notification's mails (or webhook POSTs) go in
 * jobs of this many, so a job's database work (one claim, one insert of
 * acknowledge links, one record of what was sent) and the job engine's own
 * cost are paid per batch, not per message
 */
export const DELIVERY_BATCH = 50
/**
 * A row handed to the engine this long ago and still not done is handed over
 * again: the add is ignored while its job exists (same id), and brings the
 * job back if the engine lost it (Redis restarted without its data).
 */
const HAND_OVER_AGAIN = sql`interval '2 minutes'`
/**
 * A save that decided deliveries wakes the dispatcher this long after it:
 * the saves of a busy moment (hundreds a second) share one pass, which costs
 * three short transactions.
 */
export const WAKE_AFTER_SAVE_MS = 20

export const escalationJobId = (alertId: number) => `escalation-${alertId}`
export const invitationJobId = (row: { id: number; sends_requested: number }) => `invitation-${row.id}-${row.sends_requested}`

/**
 * Makes jobs from the rows that say what must be done: deliveries not yet
 * sent, escalations waiting for their time, invitations whose mail is due.
 * Runs after each save that decided some (the outbox relay sees the trigger's
 * mark: jobs-plugin.ts), when a user asks, on a timer (rows a
 * crash left, or made by another instance), and once at start, when it hands
 * over everything unfinished (an in-process engine lost its jobs with the
 * process). Any number of dispatchers may run: rows are taken with SKIP
 * LOCKED, and a job id already in the engine is ignored.
 */
export class Dispatcher {
  readonly #timer: NodeJS.Timeout
  readonly #startedAt = new Date()
  #running: Promise<void> | undefined
  #soon: NodeJS.Timeout | undefined
  #again = false
  #stopped = false
  #failures = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: JobEngine,
    private readonly options: { intervalMs: number; onError: (error: unknown) => void },
  ) {
    this.#timer = setInterval(() => void this.wake(), options.intervalMs)
    this.#timer.unref()
  }

  /** Coalesces: one pass at a time, one more queued. Resolves when idle again. */
  wake(): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    this.#running = this.#loop().finally(() => (this.#running = undefined))
    return this.#running
  }

  /** After a save: a pass WAKE_AFTER_SAVE_MS from now, shared by every save until then. */
  wakeSoon(): void {
    if (this.#soon || this.#stopped) return
    this.#soon = setTimeout(() => {
      this.#soon = undefined
      void this.wake()
    }, WAKE_AFTER_SAVE_MS)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
    await this.#running
  }

  /** Adds one job now (a user's resend or retry, with its status reported to them); the row is marked handed over. */
  async addNow(job: NewJob): Promise<void> {
    await this.engine.add(job)
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false
      try {
        let full = true
        while (full && !this.#stopped) {
          const counts = await Promise.all([this.#deliveries(), this.#escalations(), this.#invitations()])
          full = counts.some((n) => n === BATCH)
        }
        this.#failures = 0
      } catch (error) {
        // the database or Redis away: report once per outage; the timer tries again
        if (this.#failures++ === 0) this.options.onError(error)
        return
      }
    } while (this.#again && !this.#stopped)
  }

  /** rows not handed over since this process started, or long ago */
  #due(column: 'enqueued') {
    return sql<boolean>`(${sql.ref(column)} IS NULL OR ${sql.ref(column)} < ${this.#startedAt} OR ${sql.ref(column)} < now() - ${HAND_OVER_AGAIN})`
  }

  /**
   * Unfinished deliveries, in jobs of up to DELIVERY_BATCH of one
   * notification and channel. A delivery keeps the job it was first handed
   * over in (its `job` column), so a batch handed over again has the same id
   * and the engine ignores it while it holds that job.
   */
  async #deliveries(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('deliveries')
        .select(['id', 'job', 'event', 'channel'])
        .where('state', 'in', ['pending', 'sending'])
        .where(this.#due('enqueued'))
        .orderBy('id')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute()
      if (rows.length === 0) return 0
      const jobs = new Map<string, number[]>()
      const fresh = new Map<string, number[]>()
      let open: { id: string; event: string | null; channel: string; ids: number[] } | undefined
      for (const row of rows) {
        if (row.job) {
          jobs.set(row.job, [...(jobs.get(row.job) ?? []), row.id])
          continue
        }
        if (!open || open.event !== row.event || open.channel !== row.channel || open.ids.length >= DELIVERY_BATCH) {
          open = { id: batchJobId(row.id), event: row.event, channel: row.channel, ids: [] }
          fresh.set(open.id, open.ids)
          jobs.set(open.id, open.ids)
        }
        open.ids.push(row.id)
      }
      await this.engine.addMany([...jobs].map(([id, deliveryIds]) => ({ name: 'deliver' as const, id, data: { deliveryIds } })))
      // one write per row (each rewrites the row, payload and all): its job, if new, and when it was handed over
      for (const [job, ids] of fresh) {
        await trx.updateTable('deliveries').set({ job, enqueued: sql<Date>`now()` }).where('id', '=', sql<number>`any(${ids}::integer[])`).execute()
      }
      const handedAgain = rows.filter((r) => r.job).map((r) => r.id)
      if (handedAgain.length > 0) {
        await trx.updateTable('deliveries').set({ enqueued: sql<Date>`now()` }).where('id', '=', sql<number>`any(${handedAgain}::integer[])`).execute()
      }
      return rows.length
    })
  }

  async #escalations(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('escalations')
        .select(['alert_id', 'due'])
        .where('state', '=', 'waiting')
        .where(this.#due('enqueued'))
        .orderBy('due')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute()
      if (rows.length === 0) return 0
      // the delay lives in the engine (a delayed job) and the due time in the row: either survives a restart
      const now = Date.now()
      for (const row of rows) {
        await this.engine.add({ name: 'escalate', id: escalationJobId(row.alert_id), data: { alertId: row.alert_id }, delayMs: new Date(row.due).getTime() - now })
      }
      await trx.updateTable('escalations').set({ enqueued: sql<Date>`now()` }).where('alert_id', 'in', rows.map((r) => r.alert_id)).execute()
      return rows.length
    })
  }

  async #invitations(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('invitations')
        .select(['id', 'sends_requested', 'invited_by_id'])
        .whereRef('sends_done', '<', 'sends_requested')
        .where('revoked', 'is', null)
        .where('accepted', 'is', null)
        .where(this.#due('enqueued'))
        .orderBy('id')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute()
      if (rows.length === 0) return 0
      for (const row of rows) {
        await this.engine.add({ name: 'invite', id: invitationJobId(row), data: { invitationId: row.id, send: row.sends_requested } })
      }
      await trx.updateTable('invitations').set({ enqueued: sql<Date>`now()` }).where('id', 'in', rows.map((r) => r.id)).execute()
      return rows.length
    })
  }
}
