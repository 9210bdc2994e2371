import { CompiledQuery, type Kysely } from 'kysely'

export const BEGIN = CompiledQuery.raw('begin')
export const COMMIT = CompiledQuery.raw('commit')
export const ROLLBACK = CompiledQuery.raw('rollback')

/** A statement's result: the rows only (what the pipelined callers read). */
export interface Rows {
  rows: unknown[]
}

/** One connection held for statements sent together. */
export interface PipelineConnection {
  /**
   * Writes the statements at once, without waiting for one answer before
   * writing the next: on the pipelining pg pool (db/connect.ts) they cost one
   * round trip together. PostgreSQL still runs them one after the other, each
   * with its own snapshot (READ COMMITTED), so a lock taken by one statement
   * is held before the next one reads anything. Throws the first failure,
   * once every answer is in (inside a transaction, those after it fail too).
   */
  send(statements: CompiledQuery[]): Promise<Rows[]>
}

/** How a database hands out a connection for pipelined statements (registered by db/connect.ts). */
export interface Pipeliner {
  acquire(): Promise<PipelineConnection & { release(): void }>
}

// Kysely runs one query at a time on a connection, so statements sent
// together go to the driver underneath it. A Kysely opened any other way
// still works, one statement after another.
const pipeliners = new WeakMap<Kysely<any>, Pipeliner>()

export function registerPipeliner(db: Kysely<any>, pipeliner: Pipeliner): void {
  pipeliners.set(db, pipeliner)
}

/** Runs `work` on one connection of `db`, released afterwards. */
export async function withPipeline<T>(db: Kysely<any>, work: (connection: PipelineConnection) => Promise<T>): Promise<T> {
  const pipeliner = pipeliners.get(db)
  if (!pipeliner) return db.connection().execute((one) => work({ send: (statements) => sendEach(one, statements) }))
  const connection = await pipeliner.acquire()
  try {
    return await work(connection)
  } finally {
    connection.release()
  }
}

/**
 * The statements as one transaction in one round trip. So every statement
 * must be known before the first runs: a decision that depends on a result
 * (a version check) is written into the SQL, or made after the commit on
 * results that show nothing was written. A failed statement aborts the
 * transaction, the COMMIT sent behind it then rolls back, and the failure is
 * thrown. Yields the statements' results (not BEGIN's and COMMIT's).
 */
export async function pipelinedTransaction(db: Kysely<any>, statements: CompiledQuery[]): Promise<Rows[]> {
  return withPipeline(db, async (connection) => {
    try {
      return (await connection.send([BEGIN, ...statements, COMMIT])).slice(1, -1)
    } catch (error) {
      // the COMMIT ended the transaction, unless the failure was the connection
      // itself; then this fails too and the server rolls back on its own
      await connection.send([ROLLBACK]).catch(() => {})
      throw error
    }
  })
}

/** What of a pipelining pg client (`pg.Client`, `pg.PoolClient`) a corked send needs. */
export interface PgPipelineClient {
  query(config: { text: string; values: unknown[]; name?: string }): Promise<{ rows?: unknown[] }>
  /** pg's connection, whose socket is corked around the statements (absent on other clients: then each is written as pg writes it) */
  connection?: { stream?: { cork?(): void; uncork?(): void } }
}

/**
 * Sends the statements on a pipelining pg client in one write and waits for
 * every answer (throws the first failure). pg corks its socket around each
 * extended-protocol query but writes a simple one (begin, commit) at once, so
 * a save went out as one loopback send per statement, four in all; each
 * send is paid for by this process (under the geofence benchmark those
 * writes were a large share of the server's CPU). Corked around all of
 * them, the client's queries are submitted synchronously and Node joins them
 * into one writev. Statements with parameters are prepared under a name from `names`;
 * parameterless ones (begin, commit) go as simple queries: nothing to plan.
 */
export function sendPipelined(client: PgPipelineClient, statements: readonly Pick<CompiledQuery, 'sql' | 'parameters'>[], names: StatementNames): Promise<Rows[]> {
  const stream = client.connection?.stream
  stream?.cork?.()
  try {
    return settle(statements.map(({ sql, parameters }) => {
      const name = parameters.length ? names.nameOf(sql) : undefined
      return client.query({ text: sql, values: [...parameters], ...(name && { name }) })
    }))
  } finally {
    stream?.uncork?.()
  }
}

/** Waits for every answer; throws the first failure. */
export async function settle(sent: Promise<{ rows?: unknown[] }>[]): Promise<Rows[]> {
  const settled = await Promise.allSettled(sent)
  const failed = settled.find((outcome) => outcome.status === 'rejected')
  if (failed) throw failed.reason
  return (settled as PromiseFulfilledResult<{ rows?: unknown[] }>[]).map((outcome) => ({ rows: outcome.value.rows ?? [] }))
}

async function sendEach(db: Kysely<any>, statements: CompiledQuery[]): Promise<Rows[]> {
  const results: Rows[] = []
  let failure: unknown
  for (const statement of statements) {
    try {
      results.push({ rows: (await db.executeQuery(statement)).rows as unknown[] })
    } catch (error) {
      failure ??= error
    }
  }
  if (failure !== undefined) throw failure
  return results
}

const MAX_PREPARED = 256

/**
 * Names for the statements the pipelined paths send, so that each connection
 * parses and plans one once and then only binds values: the planning of a
 * save statement cost PostgreSQL about as much as running it. Bounded, so
 * that SQL text that varies without end (it should not) is sent unnamed
 * beyond the first MAX_PREPARED texts rather than filling every connection.
 */
export class StatementNames {
  readonly #names = new Map<string, string>()

  nameOf(text: string): string | undefined {
    let name = this.#names.get(text)
    if (name === undefined && this.#names.size < MAX_PREPARED) {
      name = `pipelined_${this.#names.size + 1}`
      this.#names.set(text, name)
    }
    return name
  }
}
