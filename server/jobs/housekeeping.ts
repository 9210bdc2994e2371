import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../../db/schema.ts'

/** how often a working process clears out what is no longer needed */
export const HOUSEKEEPING_EVERY_MS = 3_600_000
/** rows removed per statement: a long backlog goes in short transactions */
const BATCH = 5000
/** a session, or an acknowledge link, is kept this long after it ended: its end stays explainable for a day */
const GRACE = sql`interval '1 day'`

export interface Removed {
  sessions: number
  acknowledgeLinks: number
  deliveries: number
  deliveryPayloads: number
  escalations: number
}

/**
 * What the tables of the background work would otherwise keep for ever:
 * sessions a day after they ended, acknowledge links a day after they
 * expired, deliveries sent or failed (and escalations decided) more than
 * `retentionDays` ago, and the payloads no delivery names any more. A
 * delivery still to be sent is never removed. Any number of processes may
 * run it at once: each statement removes what it finds, and the rest is
 * already gone. The alert log and the change history are records, kept.
 */
export class Housekeeping {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { retentionDays: number; onError: (error: unknown) => void },
  ) {}

  /** A pass now and then every HOUSEKEEPING_EVERY_MS. */
  start(): void {
    const run = () => {
      this.#running ??= this.pass()
        .catch(this.options.onError)
        .finally(() => (this.#running = undefined))
    }
    this.#timer = setInterval(run, HOUSEKEEPING_EVERY_MS)
    this.#timer.unref()
    run()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#running
  }

  async pass(): Promise<Removed> {
    const kept = sql`make_interval(days => ${this.options.retentionDays})`
    return {
      sessions: await this.#removeAll('sessions', sql`id IN (
        SELECT id FROM sessions
        WHERE absolute_expires < now() - ${GRACE} OR idle_expires < now() - ${GRACE} OR revoked < now() - ${GRACE}
        LIMIT ${BATCH})`),
      acknowledgeLinks: await this.#removeAll('acknowledge_links', sql`key_hash IN (
        SELECT key_hash FROM acknowledge_links WHERE expires < now() - ${GRACE} LIMIT ${BATCH})`),
      // oldest first along the primary key: the old rows are at its start
      deliveries: await this.#removeAll('deliveries', sql`id IN (
        SELECT id FROM deliveries WHERE state IN ('sent', 'failed') AND created < now() - ${kept} ORDER BY id LIMIT ${BATCH})`),
      // written in the transaction of their deliveries, so never seen here before them
      deliveryPayloads: await this.#removeAll('delivery_payloads', sql`id IN (
        SELECT p.id FROM delivery_payloads p
        WHERE NOT EXISTS (SELECT FROM deliveries d WHERE d.payload_id = p.id)
        ORDER BY p.id LIMIT ${BATCH})`),
      escalations: await this.#removeAll('escalations', sql`alert_id IN (
        SELECT alert_id FROM escalations WHERE state <> 'waiting' AND done < now() - ${kept} LIMIT ${BATCH})`),
    }
  }

  async #removeAll(table: 'sessions' | 'acknowledge_links' | 'deliveries' | 'delivery_payloads' | 'escalations', where: RawBuilder<unknown>): Promise<number> {
    let removed = 0
    for (;;) {
      const result = await sql`DELETE FROM ${sql.table(table)} WHERE ${where}`.execute(this.db)
      const n = Number(result.numAffectedRows ?? 0)
      removed += n
      if (n < BATCH) return removed
    }
  }
}
