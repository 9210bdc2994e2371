import { Kysely, PostgresDialect } from 'kysely'
import type { Database } from './schema.ts'
import { pglitePool } from './drivers/pglite-pool.ts'
import { registerPipeliner, sendPipelined, settle, StatementNames } from './pipeline.ts'
import { postgisExtension } from './drivers/postgis-bundle.ts'

export type DatabaseKind = 'postgres' | 'pglite'

export interface DatabaseHandle {
  db: Kysely<Database>
  kind: DatabaseKind
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** PostgreSQL with PostGIS; when absent, the embedded PGlite default */
  databaseUrl?: string | undefined
  /** PGlite data folder; `memory://` keeps everything in memory (tests) */
  dataDir: string
  poolSize?: number
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? 10)
  return openPGlite(options.dataDir)
}

async function openPostgres(connectionString: string, max: number): Promise<DatabaseHandle> {
  const { default: pg } = await import('pg')
  // Pipeline mode writes a query without waiting for the answer to the one
  // before it, so a transaction whose statements are all known up front (a
  // save) costs one round trip instead of one per statement. Code that awaits
  // each query in turn behaves exactly as without it.
  // A database host that drops packets instead of refusing them would leave a
  // request waiting for a connection forever: after 10 s it fails, and the
  // client gets 503 (db/unreachable.ts) instead of a hung request.
  const pool = new pg.Pool({ connectionString, max, pipeline: true, connectionTimeoutMillis: 10_000 })
  // an idle client that loses its server emits 'error' on the pool; without a
  // listener that would crash the process instead of failing the next query
  pool.on('error', () => {})
  // ...and a checked-out client has no listener at all (the pool removes its
  // own while a client is lent): PostgreSQL ending that connection (a restart,
  // pg_terminate_backend) would be an uncaught 'error' that kills the server.
  // Its statements fail with the error anyway, and the pool drops the client
  // when it is released.
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const names = new StatementNames()
  registerPipeliner(db, {
    async acquire() {
      const client = await pool.connect()
      return {
        send: (statements) => sendPipelined(client, statements, names),
        release: () => client.release(),
      }
    },
  })
  return { db, kind: 'postgres', close: () => db.destroy() }
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  // loaded lazily: the WASM build is large and a PostgreSQL deployment never needs it
  // pg_trgm serves the text search (`q`) as on PostgreSQL (db/migrations/0007-incident-search.ts)
  const [{ PGlite }, postgis, { pg_trgm }] = await Promise.all([
    import('@electric-sql/pglite'), postgisExtension(), import('@electric-sql/pglite/contrib/pg_trgm'),
  ])
  const pg = await PGlite.create(dataDir, { extensions: { postgis, pg_trgm } })
  const pool = pglitePool(pg)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  registerPipeliner(db, {
    async acquire() {
      const client = await pool.connect()
      return {
        send: (statements) => settle(statements.map(({ sql, parameters }) => client.query(sql, parameters))),
        release: () => client.release(),
      }
    },
  })
  return {
    db,
    kind: 'pglite',
    async close() {
      await db.destroy()
      await pg.close()
    },
  }
}
