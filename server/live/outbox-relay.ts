import { CompiledQuery, sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { BEGIN, COMMIT, ROLLBACK, withPipeline } from '../../db/pipeline.ts'
import type { NotificationJson, NotificationStream } from './stream.ts'

// One relay publishes at a time per database: the sweep runs in a transaction
// holding this advisory lock, and an instance that can't take it leaves the
// work to the one that has it (and looks again shortly).
const RELAY_LOCK = 7_734_002
const BATCH = 500
/** the outbox is vacuumed by the relay after this many rows are deleted (see OutboxRelay) */
const VACUUM_EVERY_ROWS = 10_000
const VACUUM = CompiledQuery.raw('VACUUM outbox')
/** a batch of at least this many rows means saves come faster than sweeps: pause before the next (see OutboxRelay) */
const BUSY_BATCH_ROWS = 8
const BUSY_PAUSE_MS = 20

export interface RelayOptions {
  /** the timer that catches a wake-up that was lost, or rows left by a crash */
  sweepIntervalMs: number
  /** a batch the stream has not acknowledged in this time fails: rolled back, published again later (default 5 s) */
  publishTimeoutMs?: number
  /** the outbox is vacuumed after this many rows were published (default 10 000) */
  vacuumEveryRows?: number
  /** after a batch of at least `busyBatchRows` rows, the next sweep waits `busyPauseMs` (defaults 8 and 20 ms) */
  busyBatchRows?: number
  busyPauseMs?: number
  onError: (error: unknown) => void
}

/** Called when the relay takes rows whose saves decided deliveries or escalations (outbox.dispatch). */
export type DispatchDueListener = () => void

export interface RelayStats {
  published: number
  /** times this relay vacuumed the outbox */
  vacuums: number
  /** age in ms of the oldest unpublished row when the last sweep began */
  lagMs: number
}

/**
 * Publishes the outbox to the stream, oldest first. The outbox
 * is a queue: a sweep deletes the rows it takes and commits the deletion
 * only once the stream has acknowledged them, so a batch that fails is rolled
 * back into the outbox and published again later. At-least-once: a crash
 * between publishing and the commit publishes the rows again, with the same
 * `event` ids, and clients drop the duplicates. (What was published stays in
 * the Redis stream's bounded history, for replay.)
 *
 * Every deleted row stays behind as a dead tuple, and each sweep's read of
 * the oldest rows walks the index over all of them until a vacuum removes
 * them: with autovacuum off (as on some hosts) or a minute behind, the
 * saves/s of a loaded server fell steeply as the dead rows piled up. So the
 * relay vacuums the outbox itself, in the background, every
 * `vacuumEveryRows` rows it deletes: quick on a table that holds only what
 * is in flight.
 *
 * Every save wakes the relay, and a sweep costs about as much whether it
 * carries one row or a hundred (a transaction, a Redis command, and each
 * instance reading the batch back). Under the geofence benchmark's load it
 * swept hundreds of times a second, a handful of rows each, and the sweeps
 * were a large share of all the CPU a save cost (docs/performance-log.md).
 * So when a batch comes back with `busyBatchRows` or more (saves are
 * arriving faster than it sweeps), the next sweep waits `busyPauseMs` and
 * takes everything that arrived meanwhile. Under light load batches are a row or two and nothing waits;
 * under heavy load a notification may reach Redis up to `busyPauseMs` later.
 */
export class OutboxRelay {
  readonly stats: RelayStats = { published: 0, vacuums: 0, lagMs: 0 }
  #running: Promise<void> | undefined
  #again = false
  #stopped = false
  #timer: NodeJS.Timeout
  #failures = 0
  #deletedSinceVacuum = 0
  #vacuuming: Promise<void> | undefined
  /** ends the pause between busy batches early (stop) */
  #endPause: (() => void) | undefined
  /** stopping: publish everything left, without pauses */
  #draining = false
  readonly #tryLock: CompiledQuery
  readonly #take: CompiledQuery
  readonly #dispatchDue = new Set<DispatchDueListener>()

  constructor(
    private readonly db: Kysely<Database>,
    private readonly stream: NotificationStream,
    private readonly options: RelayOptions,
  ) {
    this.#tryLock = sql`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`.compile(db)
    // The oldest BATCH rows, deleted and returned in one statement (RETURNING has no order: sorted below).
    // `= any(array(…))`, not `in (…)`: with IN the planner hash-joins the ids against a scan of the whole table.
    const oldest = db.selectFrom('outbox').select('id').orderBy('id').limit(BATCH)
    this.#take = db
      .deleteFrom('outbox')
      .where('id', '=', sql<number>`any(array(${oldest}))`)
      // the payload as text: published as PostgreSQL wrote it, not parsed here (stream.ts)
      .returning(['id', sql<NotificationJson>`payload::text`.as('payload'), 'created', 'dispatch'])
      .compile()
    this.#timer = setInterval(() => this.wake(), options.sweepIntervalMs)
    this.#timer.unref()
  }

  /**
   * Called by the post-save hooks after each commit. Coalesces: one sweep at
   * a time, one more queued. Resolves when the relay is idle again, after a
   * sweep that began after the call (and a busy pause, if one is under way),
   * unless that sweep failed or another instance held the relay's lock.
   */
  wake(): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    this.#running = this.#loop()
    return this.#running
  }

  /**
   * Listens for rows whose saves decided deliveries or escalations (the
   * outbox trigger marks them): the job dispatcher needs waking after those
   * saves only. Told as soon as such a row is taken, before it is published:
   * the deliveries are committed with it, whatever becomes of the publishing.
   */
  onDispatchDue(listener: DispatchDueListener): () => void {
    this.#dispatchDue.add(listener)
    return () => void this.#dispatchDue.delete(listener)
  }

  /** Stops the timer and finishes what is being relayed (graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#draining = true
    this.#endPause?.()
    await this.wake()
    this.#stopped = true
    await this.#running
    await this.#vacuuming
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false
        let taken: number
        try {
          taken = await this.#sweep()
          this.#failures = 0
        } catch (error) {
          // Redis away, or the database: report once per outage, retry on the timer
          if (this.#failures++ === 0) this.options.onError(error)
          return
        }
        this.#vacuumIfDue()
        // a full batch: more are waiting, take them now
        if (taken === BATCH) this.#again = true
        // saves keep coming faster than sweeps: let the next batch fill up
        else if (this.#again && !this.#draining && taken >= (this.options.busyBatchRows ?? BUSY_BATCH_ROWS)) await this.#pause()
      } while (this.#again && !this.#stopped)
    } finally {
      // in the same step as the loop's last look at #again: a wake-up after it starts a new loop
      this.#running = undefined
    }
  }

  #pause(): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer)
        this.#endPause = undefined
        resolve()
      }
      const timer = setTimeout(end, this.options.busyPauseMs ?? BUSY_PAUSE_MS)
      this.#endPause = end
    })
  }

  /** Starts a vacuum of the outbox once enough rows were deleted since the last; one at a time, not awaited by the sweeps. */
  #vacuumIfDue(): void {
    if (this.#vacuuming || this.#deletedSinceVacuum < (this.options.vacuumEveryRows ?? VACUUM_EVERY_ROWS)) return
    this.#deletedSinceVacuum = 0
    this.#vacuuming = this.db
      .executeQuery(VACUUM)
      .then(() => void this.stats.vacuums++, (error: unknown) => this.options.onError(error))
      .finally(() => (this.#vacuuming = undefined))
  }

  /**
   * Publishes one batch; returns how many rows it took. Two round trips to the
   * database (db/pipeline.ts): begin, the lock and the taking of the batch
   * sent together (the delete runs after the lock, so it sees what the last
   * holder committed), then the commit once the stream has acknowledged it.
   */
  async #sweep(): Promise<number> {
    return withPipeline(this.db, async (connection) => {
      try {
        const [, lock, batch] = await connection.send([BEGIN, this.#tryLock, this.#take])
        if (!(lock!.rows[0] as { locked: boolean }).locked) {
          await connection.send([ROLLBACK])
          // another instance is sweeping and may have read before our commit: look again soon
          setTimeout(() => void this.wake(), 50).unref()
          return 0
        }
        const rows = (batch!.rows as { id: number; payload: NotificationJson; created: Date; dispatch: boolean }[]).sort((a, b) => a.id - b.id)
        if (rows.some((row) => row.dispatch)) for (const listener of this.#dispatchDue) listener()
        this.stats.lagMs = rows.length ? Date.now() - new Date(rows[0]!.created).getTime() : 0
        if (rows.length === 0) {
          await connection.send([COMMIT])
          return 0
        }
        // one command for the batch (redis-stream.ts); failing, the delete is rolled back and the whole batch is published again later
        await withinTime(this.stream.publish(rows.map((row) => ({ event: row.id, body: row.payload }))), this.options.publishTimeoutMs ?? 5_000)
        await connection.send([COMMIT])
        this.stats.published += rows.length
        this.#deletedSinceVacuum += rows.length
        return rows.length
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
    timer = setTimeout(() => reject(new Error(`the notification stream did not acknowledge a batch within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
