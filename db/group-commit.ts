import type { CompiledQuery, Kysely } from 'kysely'
import { pipelinedTransaction, type Rows } from './pipeline.ts'

export interface GroupCommitOptions {
  /** sent first in every transaction, once for the whole group (a shared lock every save takes) */
  prefix: readonly CompiledQuery[]
  /** transactions in flight at once; what arrives meanwhile waits and goes out together in the next */
  inFlight: number
  /** at most this many statements in one transaction */
  maxGroup: number
}

interface Waiting {
  statement: CompiledQuery
  resolve: (rows: Rows) => void
  reject: (error: unknown) => void
}

/**
 * Group commit for independent one-statement saves: statements submitted
 * while `inFlight` transactions are already out are queued, and the next free
 * slot sends everything queued (up to `maxGroup`) as one pipelined
 * transaction, `prefix` first. A transaction costs PostgreSQL about as much
 * CPU as the save in it (begin, lock, commit and its WAL flush, the round
 * trip), so under load each save in a shared transaction costs much less
 * than one in a transaction of its own (docs/performance-log.md). Under
 * light load nothing waits: a statement that finds a free slot is sent at
 * once, alone.
 *
 * The saves of a group commit together or not at all. When the database
 * refuses one of them (any statement error: it answered, so the transaction
 * is known to be rolled back), each is sent again alone, so a bad save fails
 * only its own caller. When the outcome is unknown (the connection broke, the
 * server is shutting down) nothing is resent: every caller gets the error, as
 * a lone save would.
 */
export class GroupCommit {
  readonly #waiting: Waiting[] = []
  #inFlight = 0

  constructor(
    private readonly db: Kysely<any>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Commits `statement` (alone or in a group); resolves with its rows once committed. */
  submit(statement: CompiledQuery): Promise<Rows> {
    return new Promise<Rows>((resolve, reject) => {
      this.#waiting.push({ statement, resolve, reject })
      this.#next()
    })
  }

  #next(): void {
    while (this.#inFlight < this.options.inFlight && this.#waiting.length > 0) {
      const group = this.#waiting.splice(0, this.options.maxGroup)
      this.#inFlight++
      void this.#commit(group).finally(() => {
        this.#inFlight--
        this.#next()
      })
    }
  }

  async #commit(group: Waiting[]): Promise<void> {
    try {
      const results = await this.#send(group)
      group.forEach((save, i) => save.resolve(results[i]!))
    } catch (error) {
      if (group.length === 1 || !rolledBack(error)) {
        for (const save of group) save.reject(error)
        return
      }
      // one of them was refused: find out which, each on its own
      await Promise.all(group.map((save) => this.#commit([save])))
    }
  }

  async #send(group: Waiting[]): Promise<Rows[]> {
    const { prefix } = this.options
    return (await pipelinedTransaction(this.db, [...prefix, ...group.map((save) => save.statement)])).slice(prefix.length)
  }
}

/**
 * True when the database answered with a statement error, so the transaction
 * is known to have rolled back: an SQLSTATE other than a connection exception
 * (class 08) or operator intervention (57: shutdown, cancel), after which a
 * commit may or may not have happened.
 */
function rolledBack(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57')
}
