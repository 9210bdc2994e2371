import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Database } from '../../../db/schema.ts'
import { openDatabase, type DatabaseHandle, type DatabaseKind } from '../../../db/connect.ts'
import { migrateToLatest } from '../../../db/migrate.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    dbKind: DatabaseKind
  }
}

export interface DatabasePluginOptions {
  databaseUrl?: string | undefined
  dataDir: string
  poolSize: number
  /** an already open database (the embedded default is opened before the app to hold its lock) */
  handle?: DatabaseHandle | undefined
}

/** Opens PostGIS (or the embedded PGlite), migrates it to the latest schema, and closes it last. */
export default fp<DatabasePluginOptions>(
  async (app, options) => {
    const handle = options.handle ?? (await openDatabase(options))
    await migrateToLatest(handle.db)
    app.decorate('db', handle.db)
    app.decorate('dbKind', handle.kind)
    app.addHook('onClose', async () => {
      await handle.close()
    })
  },
  { name: 'database' },
)
