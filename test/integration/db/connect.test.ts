import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { openDatabase, type DatabaseHandle } from '../../../db/connect.ts'
import { pipelinedTransaction } from '../../../db/pipeline.ts'
import { createDatabase } from '../../helpers/postgres.ts'
import { waitUntil } from '../../helpers/wait.ts'

// PostgreSQL may end a connection while the server is using it (a restart, a
// failover, an administrator's pg_terminate_backend). The statements on it
// must fail, the process must not (an 'error' on a client with no listener
// is an uncaught exception, which Vitest reports and fails the run on), and
// the next statement must get a new connection.

describe('a PostgreSQL connection ended while in use', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let handle: DatabaseHandle
  let admin: pg.Client

  beforeAll(async () => {
    database = await createDatabase()
    handle = await openDatabase({ databaseUrl: database.url, dataDir: 'unused', poolSize: 1 })
    admin = new pg.Client({ connectionString: database.url })
    await admin.connect()
  })
  afterAll(async () => {
    await admin?.end()
    await handle?.close()
    await database?.drop()
  })

  const terminateOthers = () =>
    admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep%'`)

  /** the promise's failure (undefined if it succeeds), observed from the start so it is never an unhandled rejection */
  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: Error) => error)

  async function whenSleeping() {
    await waitUntil(async () => {
      const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'select pg_sleep%'`)
      return rows.length > 0
    }, { everyMs: 50, what: 'the statement to start' })
  }

  it('fails a pipelined transaction on it, and the next one runs on a new connection', async () => {
    const sleeping = failureOf(pipelinedTransaction(handle.db, [CompiledQuery.raw('select pg_sleep(30)')]))
    await whenSleeping()
    await terminateOthers()
    expect((await sleeping)?.message).toMatch(/terminat/)
    const [answer] = await pipelinedTransaction(handle.db, [CompiledQuery.raw('select 1 AS one')])
    expect(answer!.rows).toEqual([{ one: 1 }])
  })

  it('fails a query through Kysely, and queries work again on a new connection', async () => {
    const sleeping = failureOf(handle.db.executeQuery(CompiledQuery.raw('select pg_sleep(30)')))
    await whenSleeping()
    await terminateOthers()
    expect((await sleeping)?.message).toMatch(/terminat/)
    // Kysely hands the client back as soon as the error message arrives; if
    // the socket's end comes after that, the pool lends the dead client once
    // more, and that one query fails too before the pool drops it (pg-pool).
    // It fails as the socket did: "Connection terminated unexpectedly", or,
    // when the reset reaches pg first, "read ECONNRESET" (seen in CI).
    const again = () => handle.db.executeQuery<{ two: number }>(CompiledQuery.raw('select 2 AS two'))
    const first = await again().then((result) => result.rows, (error: Error) => error)
    if (first instanceof Error) expect(first.message).toMatch(/terminat|ECONNRESET/)
    const rows = first instanceof Error ? (await again()).rows : first
    expect(rows).toEqual([{ two: 2 }])
  })
})
