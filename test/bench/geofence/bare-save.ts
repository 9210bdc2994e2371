import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { openDatabase, type DatabaseHandle } from '../../../db/connect.ts'
import { GroupCommit } from '../../../db/group-commit.ts'
import { pipelinedTransaction } from '../../../db/pipeline.ts'
import { geofenceSharedLock } from '../../../server/repositories/geofence-lock.ts'
import { incidentInsertTemplate } from '../../../server/repositories/incident-save.ts'
import type { Place } from './data.ts'
import { postgresCpuMs } from './cpu.ts'
import { closedLoop, openLoop, type ClosedLoopOptions, type LoadResult, type OpenLoopOptions } from './load.ts'

// The limit for POST /api/incidents: the very statements that
// incidentRepository.create() sends (from the repository's own compiled
// template, so the text cannot drift from the app's: the insert, the alert
// rule against the areas, the alert, outbox and history rows), with the same
// group commit (one pipelined transaction: begin, the shared geofence lock
// once, N saves, commit, written in one write on the server's own pipelining
// pool, db/connect.ts, statements prepared per connection), with no HTTP, no
// validation, no session lookup and no outbox relay.
//
// The server groups what arrives while its transactions are in flight; this
// side sends full groups from the start, so for a given number of
// transactions in flight and saves per transaction it is the best the
// technique can do. The scenario searches a grid of both and takes the best
// as the limit.

/**
 * The alert rule (server/repositories/alert-rule.ts) for one open incident's
 * point and severity, by itself: what the save statement's `matching` part
 * does for the new row. $1 longitude, $2 latitude, $3 severity.
 */
export const ALERT_CHECK =
  'SELECT a.id, a.name, a.severity FROM areas_of_interest AS a WHERE ST_Covers(a.polygon, ST_SetSRID(ST_MakePoint($1, $2), 4326)) AND $3::severity >= a.severity ORDER BY a.id'

/** How saves are grouped: transactions in flight at once, saves in each. */
export interface Grouping {
  inFlight: number
  groupSize: number
}

export const describeGrouping = (g: Grouping) => `${g.inFlight} × ${g.groupSize}`

export type BareResult = LoadResult & { alerted: number }

/** A connection pool of the server's kind on a bare-SQL database, and the save statements. */
export class BareSaves {
  #next = 0
  readonly #lock: CompiledQuery
  readonly #insert: ReturnType<typeof incidentInsertTemplate>

  private constructor(
    private readonly handle: DatabaseHandle,
    private readonly probe: pg.Client,
    private readonly places: Place[],
    private readonly reporterId: number,
  ) {
    this.#lock = geofenceSharedLock.compile(handle.db)
    this.#insert = incidentInsertTemplate(handle.db)
  }

  /** A pool of `poolSize` pipelining connections (as the server's DB_POOL_SIZE) on `url`. */
  static async open(url: string, places: Place[], poolSize: number): Promise<BareSaves> {
    const handle = await openDatabase({ databaseUrl: url, dataDir: 'unused', poolSize })
    const probe = new pg.Client({ connectionString: url })
    try {
      await probe.connect()
      // a user to report as, so the feature's join finds a row, as it does for a signed-in operator
      const { rows: [user] } = await handle.db.executeQuery<{ id: number }>(CompiledQuery.raw(
        `INSERT INTO users (username, password_hash, role) VALUES ('bench', 'x', 'operator')
         ON CONFLICT (username) DO UPDATE SET role = 'operator' RETURNING id`,
      ))
      return new BareSaves(handle, probe, places, user!.id)
    } catch (error) {
      await Promise.allSettled([probe.end(), handle.close()])
      throw error
    }
  }

  #statement(): CompiledQuery {
    const place = this.places[this.#next++ % this.places.length]!
    return this.#insert({
      name: place.name,
      description: `benchmark incident in ${place.name}, ${place.state}`,
      severity: place.severity,
      closed: false,
      geometry: JSON.stringify({ type: 'Point', coordinates: [place.lon, place.lat] }),
      reporterId: this.reporterId,
      updatedById: this.reporterId,
    })
  }

  /**
   * Closed loop: `inFlight` workers, each sending a transaction of
   * `groupSize` saves as soon as its last one committed. Rates and latencies
   * are per save (each save's latency is its transaction's).
   */
  async closed(grouping: Grouping, budgets: { warmup: Omit<ClosedLoopOptions, 'concurrency'>; measure: Omit<ClosedLoopOptions, 'concurrency'> }): Promise<BareResult> {
    const lock = this.#lock
    const transaction = async () => void (await pipelinedTransaction(this.handle.db, [lock, ...Array.from({ length: grouping.groupSize }, () => this.#statement())]))
    const inTransactions = (budget: Omit<ClosedLoopOptions, 'concurrency'>) => ({
      concurrency: grouping.inFlight,
      durationMs: budget.durationMs,
      amount: budget.amount === undefined ? undefined : Math.max(1, Math.ceil(budget.amount / grouping.groupSize)),
    })
    await closedLoop(inTransactions(budgets.warmup), transaction)
    return this.#measured(async () => {
      const result = await closedLoop(inTransactions(budgets.measure), transaction)
      return { ...result, rate: result.rate * grouping.groupSize, completed: result.completed * grouping.groupSize }
    })
  }

  /**
   * Open loop through the server's own group commit (db/group-commit.ts):
   * saves arrive on schedule, and what arrives while `inFlight` transactions
   * are out waits for the next (up to `groupSize` in one).
   */
  async open(grouping: Grouping, load: OpenLoopOptions): Promise<BareResult> {
    const group = new GroupCommit(this.handle.db, { prefix: [this.#lock], inFlight: grouping.inFlight, maxGroup: grouping.groupSize })
    return this.#measured(() => openLoop(load, async () => void (await group.submit(this.#statement()))))
  }

  /** The run, with the client's and PostgreSQL's CPU per save and the saves that alerted. */
  async #measured(run: () => Promise<LoadResult>): Promise<BareResult> {
    const alerts = async () => Number((await this.probe.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE type = 'alert'`)).rows[0]!.n)
    const alertsBefore = await alerts()
    const before = { client: process.cpuUsage(), db: await postgresCpuMs(this.probe) }
    const result = await run()
    const client = process.cpuUsage(before.client)
    const db = (await postgresCpuMs(this.probe)) - before.db
    const alerted = (await alerts()) - alertsBefore
    return { ...result, alerted, clientCpuMs: (client.user + client.system) / 1000 / result.completed, dbCpuMs: db / result.completed }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.probe.end(), this.handle.close()])
  }
}

/** Opens a pool of `poolSize`, runs `work`, closes it. */
export async function withBareSaves<T>(url: string, places: Place[], poolSize: number, work: (saves: BareSaves) => Promise<T>): Promise<T> {
  const saves = await BareSaves.open(url, places, poolSize)
  try {
    return await work(saves)
  } finally {
    await saves.close()
  }
}
