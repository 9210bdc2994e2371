import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { NotificationLayer } from './notification-layer.ts'

// One relay publishes at a time per database: the sweep runs in a transaction
// holding this advisory lock, and an instance that can't take it leaves the
// work to the one that has it (and looks again shortly).
const RELAY_LOCK = 7_734_002
const BATCH = 500

export interface RelayOptions {
  /** the timer that catches a wake-up that was lost, or rows left by a crash */
  sweepIntervalMs: number
  onError: (error: unknown) => void
}

export interface RelayStats {
  published: number
  /** age in ms of the oldest unpublished row when the last sweep began */
  lagMs: number
}

/**
 * Publishes the outbox to the notification layer, oldest first, and marks
 * each row published. At-least-once: a crash between publishing and the
 * commit publishes the row again, with the same `event` id, and clients drop
 * the duplicate.
 */
export class OutboxRelay {
  readonly stats: RelayStats = { published: 0, lagMs: 0 }
  #running: Promise<void> | undefined
  #again = false
  #stopped = false
  #timer: NodeJS.Timeout
  #failures = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly layer: NotificationLayer,
    private readonly options: RelayOptions,
  ) {
    this.#timer = setInterval(() => this.wake(), options.sweepIntervalMs)
    this.#timer.unref()
  }

  /** Called by the post-save hooks after each commit. Coalesces: one sweep at a time, one more queued. */
  wake(): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    this.#running = this.#loop().finally(() => (this.#running = undefined))
    return this.#running
  }

  /** Stops the timer and finishes what is being relayed (graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.wake()
    this.#stopped = true
    await this.#running
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false
      let more: boolean
      try {
        more = await this.#sweep()
        this.#failures = 0
      } catch (error) {
        // Redis away, or the database: report once per outage, retry on the timer
        if (this.#failures++ === 0) this.options.onError(error)
        return
      }
      if (more) this.#again = true
    } while (this.#again && !this.#stopped)
  }

  /** Publishes one batch; true when there may be more. */
  async #sweep(): Promise<boolean> {
    let failure: unknown
    const more = await this.db.transaction().execute(async (trx) => {
      const { locked } = (await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`.execute(trx)).rows[0]!
      if (!locked) {
        // another instance is sweeping and may have read before our commit: look again soon
        setTimeout(() => void this.wake(), 50).unref()
        return false
      }
      const rows = await trx
        .selectFrom('notifications')
        .select(['id', 'payload', 'created'])
        .where('published', 'is', null)
        .orderBy('id')
        .limit(BATCH)
        .execute()
      this.stats.lagMs = rows.length ? Date.now() - new Date(rows[0]!.created).getTime() : 0
      // Issued together, not one round trip each: the client pipelines them on
      // one connection, so Redis still appends them in this order.
      const outcomes = await Promise.allSettled(rows.map((row) => this.layer.publish(row.payload, row.id)))
      const done: number[] = []
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'rejected') {
          failure = outcome.reason // commit what made it out (the prefix before the failure), then report
          break
        }
        done.push(rows[i]!.id)
      }
      if (done.length) {
        await trx.updateTable('notifications').set({ published: new Date() }).where('id', 'in', done).execute()
        this.stats.published += done.length
      }
      return rows.length === BATCH
    })
    if (failure) throw failure
    return more
  }
}
