import type { PGlite } from '@electric-sql/pglite'
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely'

/**
 * PGlite presented as the small slice of `pg.Pool` that Kysely's PostgresDialect
 * uses, so the embedded default runs the very same queries as PostgreSQL.
 *
 * PGlite is one backend with one session, so "connections" are handed out one
 * at a time: a transaction holds the only connection until it releases it, and
 * any other query waits its turn instead of landing inside someone else's
 * transaction.
 */
export function pglitePool(pg: PGlite): PostgresPool {
  let tail: Promise<void> = Promise.resolve()

  return {
    async connect(): Promise<PostgresPoolClient> {
      let release!: () => void
      const turn = tail
      tail = new Promise<void>((resolve) => (release = resolve))
      await turn
      let released = false
      // Queries sent together (a pipelined transaction) run in the order sent,
      // as they would on a pipelined PostgreSQL connection.
      let previous: Promise<unknown> = Promise.resolve()
      return {
        query<R>(sqlText: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
          const run = previous.catch(() => {}).then(async () => {
            const result = await pg.query<R>(sqlText, parameters as unknown[])
            const command = (result as { command?: string }).command as PostgresQueryResult<R>['command']
            return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows }
          })
          previous = run
          return run
        },
        release() {
          if (!released) {
            released = true
            release()
          }
        },
      } as PostgresPoolClient
    },
    async end() {
      await tail
    },
  }
}
