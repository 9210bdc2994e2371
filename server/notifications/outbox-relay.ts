import { sql, type CompiledQuery, type Kysely } from 'kysely'
import type { Database, NotificationRow } from '../../db/schema.ts'
import { BEGIN, COMMIT, ROLLBACK, withPipeline } from '../../db/pipeline.ts'
import type { NotificationLayer } from './notification-layer.ts'

// One relay publishes at a time per database: the sweep runs in a transaction
// holding this advisory lock, and an instance that can't take it leaves the
// work to the one that has it (and looks again shortly).
const RELAY_LOCK = 7_734_002
const BATCH = 500

export interface RelayOptions {
  /** the timer that catches a wake-up that was lost, or rows left by a crash */
  sweepIntervalMs: number
  /** a batch the notification layer has not acknowledged in this time fails: rolled back, published again later (default 5 s) */
  publishTimeoutMs?: number
  /** published rows are deleted about this long after they were published (default 1 h) */
  keepPublishedMs?: number
  /** how often the published rows that are old enough are deleted (default 1 min) */
  pruneEveryMs?: number
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
 *
 * Published rows are kept for `keepPublishedMs` (what was sent, for whoever
 * looks into an incident), then deleted, so the table holds about an hour of
 * saves rather than every save ever made. The relay remembers, once a
 * minute, the highest id it has published; an hour later every published row
 * up to that id goes, one range of the primary key at a time. (An instance
 * that restarts forgets: its rows go with the next hour's prune, or another
 * instance's.)
 */
export class OutboxRelay {
  readonly stats: RelayStats = { published: 0, lagMs: 0 }
  #running: Promise<void> | undefined
  #again = false
  #stopped = false
  #timer: NodeJS.Timeout
  #failures = 0
  /** the highest id published by then, one mark per `pruneEveryMs`, oldest first */
  #marks: { at: number; id: number }[] = []
  readonly #tryLock: CompiledQuery
  readonly #unpublished: CompiledQuery

  constructor(
    private readonly db: Kysely<Database>,
    private readonly layer: NotificationLayer,
    private readonly options: RelayOptions,
  ) {
    this.#tryLock = sql`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`.compile(db)
    this.#unpublished = db.selectFrom('notifications').select(['id', 'payload', 'created']).where('published', 'is', null).orderBy('id').limit(BATCH).compile()
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
    await this.#prune().catch((error: unknown) => this.options.onError(error))
  }

  #remember(id: number): void {
    const now = Date.now()
    const last = this.#marks.at(-1)
    if (last && now - last.at < (this.options.pruneEveryMs ?? 60_000)) last.id = Math.max(last.id, id)
    else this.#marks.push({ at: now, id })
  }

  /** Deletes the published rows up to the newest mark older than `keepPublishedMs`. */
  async #prune(): Promise<void> {
    const cutoff = Date.now() - (this.options.keepPublishedMs ?? 3_600_000)
    let upTo: number | undefined
    while (this.#marks.length && this.#marks[0]!.at <= cutoff) upTo = this.#marks.shift()!.id
    if (upTo === undefined) return
    await this.db.deleteFrom('notifications').where('id', '<=', upTo).where('published', 'is not', null).execute()
  }

  /**
   * Publishes one batch; true when there may be more. Two round trips to the
   * database (db/pipeline.ts): begin, the lock and the read sent together
   * (the read runs after the lock, so it sees what the last holder
   * committed), then the mark and the commit.
   */
  async #sweep(): Promise<boolean> {
    return withPipeline(this.db, async (connection) => {
      try {
        const [, lock, batch] = await connection.send([BEGIN, this.#tryLock, this.#unpublished])
        if (!(lock!.rows[0] as { locked: boolean }).locked) {
          await connection.send([ROLLBACK])
          // another instance is sweeping and may have read before our commit: look again soon
          setTimeout(() => void this.wake(), 50).unref()
          return false
        }
        const rows = batch!.rows as Pick<NotificationRow, 'id' | 'payload' | 'created'>[]
        this.stats.lagMs = rows.length ? Date.now() - new Date(rows[0]!.created).getTime() : 0
        if (rows.length === 0) {
          await connection.send([COMMIT])
          return false
        }
        // one command for the batch (redis-layer.ts); failing, nothing is marked and the whole batch is published again later
        await withinTime(this.layer.publish(rows.map((row) => ({ event: row.id, body: row.payload }))), this.options.publishTimeoutMs ?? 5_000)
        // one array parameter, not one per row: the same statement text every time, so it is prepared once
        const mark = this.db.updateTable('notifications').set({ published: new Date() }).where('id', '=', sql<number>`any(${rows.map((row) => row.id)})`).compile()
        await connection.send([mark, COMMIT])
        this.stats.published += rows.length
        this.#remember(rows.at(-1)!.id)
        return rows.length === BATCH
      } catch (error) {
        await connection.send([ROLLBACK]).catch(() => {})
        throw error
      }
    })
  }
}

/**
 * `work`, or a failure after `ms`: a Redis that accepts a connection but
 * never answers must not hold the relay's transaction and lock open for good.
 * One timer per batch, cleared when the batch is answered.
 */
async function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the notification layer did not acknowledge a batch within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
