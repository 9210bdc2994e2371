import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import * as m0001 from './migrations/0001-init.ts'
import * as m0002 from './migrations/0002-outbox-queue.ts'
import * as m0003 from './migrations/0003-outbox-name.ts'
import * as m0004 from './migrations/0004-alerts-and-history.ts'
import * as m0005 from './migrations/0005-deliveries.ts'
import * as m0006 from './migrations/0006-delivery-payloads.ts'
import * as m0007 from './migrations/0007-incident-search.ts'
import * as m0008 from './migrations/0008-outbox-dispatch.ts'

// A static list rather than a folder scan: tsx, vitest and a bundler all agree
// on it, and a migration can't be skipped because a file failed to load.
const migrations = {
  '0001-init': m0001,
  '0002-outbox-queue': m0002,
  '0003-outbox-name': m0003,
  '0004-alerts-and-history': m0004,
  '0005-deliveries': m0005,
  '0006-delivery-payloads': m0006,
  '0007-incident-search': m0007,
  '0008-outbox-dispatch': m0008,
} satisfies Record<string, Migration>

const provider: MigrationProvider = { getMigrations: async () => migrations }

export type MigrationName = keyof typeof migrations

/** Brings the schema up to date: what the server does on every start. */
export function migrateToLatest(db: Kysely<any>): Promise<void> {
  return migrate(db, (migrator) => migrator.migrateToLatest())
}

/** Brings the schema to `name`, up or down: for testing a migration against the data the one before it left. */
export function migrateTo(db: Kysely<any>, name: MigrationName): Promise<void> {
  return migrate(db, (migrator) => migrator.migrateTo(name))
}

async function migrate(db: Kysely<any>, run: (migrator: Migrator) => ReturnType<Migrator['migrateToLatest']>): Promise<void> {
  const migrator = new Migrator({ db, provider })
  const { error, results } = await run(migrator)
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    const cause = error instanceof Error ? error.message : String(error)
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${cause}`, { cause: error })
  }
}
