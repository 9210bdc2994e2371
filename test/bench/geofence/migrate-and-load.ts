import { CompiledQuery } from 'kysely'
import { openDatabase } from '../../../db/connect.ts'
import { migrateToLatest } from '../../../db/migrate.ts'
import { loadAreas } from './areas.ts'
import type { County } from './data.ts'

/**
 * Migrates a database through the app's own migrations (what the server does
 * on its first start) and loads the counties with SQL, on either backend:
 * `databaseUrl` for PostgreSQL, `dataDir` for a PGlite folder. Returns the
 * number of areas loaded.
 */
export async function migrateAndLoad(where: { databaseUrl?: string; dataDir?: string }, counties: County[]): Promise<number> {
  const handle = await openDatabase({ databaseUrl: where.databaseUrl, dataDir: where.dataDir ?? 'memory://', poolSize: 1 })
  try {
    await migrateToLatest(handle.db)
    return await loadAreas({ query: (text, params) => handle.db.executeQuery(CompiledQuery.raw(text, params ?? [])) }, counties)
  } finally {
    await handle.close()
  }
}
