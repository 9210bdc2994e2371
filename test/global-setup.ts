import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { openDatabase } from '../db/connect.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { assertPostgisAvailable } from './helpers/postgres.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string
  }
}

/**
 * Runs once: proves the real PostgreSQL + PostGIS is there (a missing one
 * fails the run, it is never skipped), and prepares one migrated PGlite data
 * folder that each test copies instead of paying initdb + PostGIS every time.
 */
export default async function setup(project: TestProject) {
  await assertPostgisAvailable()
  const template = await mkdtemp(join(tmpdir(), 'pglite-template-'))
  const handle = await openDatabase({ dataDir: template })
  await migrateToLatest(handle.db)
  await handle.close()
  project.provide('pgliteTemplate', template)
  return async () => {
    await rm(template, { recursive: true, force: true })
  }
}
