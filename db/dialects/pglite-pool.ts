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
      return {
        async query<R>(sqlText: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
          const result = await pg.query<R>(sqlText, parameters as unknown[])
          const command = (result as { command?: string }).command as PostgresQueryResult<R>['command']
          return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows }
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
