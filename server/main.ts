import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type AppConfig } from './config.ts'
import { DataDirInUseError, openEmbeddedDatabase, type EmbeddedDatabase } from './embedded/data-dir.ts'

// `npm start`: read the configuration, build the app, listen, and shut down
// gracefully on SIGTERM/SIGINT.

let config: AppConfig
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message)
    process.exit(2)
  }
  throw error
}

let embedded: EmbeddedDatabase | undefined
try {
  embedded = config.databaseUrl ? undefined : await openEmbeddedDatabase(config.dataDir)
} catch (error) {
  if (error instanceof DataDirInUseError) {
    console.error(error.message)
    process.exit(1)
  }
  throw error
}
const app = await buildApp(config, { database: embedded?.handle })
embedded?.serveAdminCommands(app)

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  // `on`, not `once`: a second signal (tsx relays the one the process group got) must not kill a graceful shutdown
  process.on(signal, () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 15_000).unref()
    app.close().then(
      async () => {
        await embedded?.release()
        clearTimeout(force)
        process.exit(0)
      },
      (error) => {
        app.log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  })
}

try {
  const address = await app.listen({ port: config.port, host: config.host })
  const where = config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`
  app.log.info(`dashboard at ${address} (data: ${where})`)
} catch (error) {
  app.log.error({ err: error }, 'could not start')
  await app.close()
  await embedded?.release()
  process.exit(1)
}
