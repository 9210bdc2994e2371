import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import * as m0001 from './migrations/0001-init.ts'

// A static list rather than a folder scan: tsx, vitest and a bundler all agree
// on it, and a migration can't be skipped because a file failed to load.
const migrations: Record<string, Migration> = {
  '0001-init': m0001,
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    const cause = error instanceof Error ? error.message : String(error)
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${cause}`, { cause: error })
  }
}
