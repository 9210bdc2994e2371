import { Kysely, PostgresDialect } from 'kysely'
import type { Database } from './schema.ts'
import { pglitePool } from './dialects/pglite-pool.ts'

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
  const pool = new pg.Pool({ connectionString, max })
  // an idle client that loses its server emits 'error' on the pool; without a
  // listener that would crash the process instead of failing the next query
  pool.on('error', () => {})
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, kind: 'postgres', close: () => db.destroy() }
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  // loaded lazily: the WASM build is large and a PostgreSQL deployment never needs it
  const [{ PGlite }, { postgis }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-postgis'),
  ])
  const pg = await PGlite.create(dataDir, { extensions: { postgis } })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pglitePool(pg) }) })
  return {
    db,
    kind: 'pglite',
    async close() {
      await db.destroy()
      await pg.close()
    },
  }
}
