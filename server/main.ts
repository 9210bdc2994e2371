import { ConfigError, loadConfig, type AppConfig } from './config.ts'
import { DataDirInUseError, openEmbeddedDatabase, type EmbeddedDatabase } from './embedded/data-dir.ts'

// The server: read the configuration, build the app, listen, and shut down
// gracefully on SIGTERM/SIGINT. `npm start` runs it bundled, with plain node
// (server/start.mjs); `tsx server/main.ts` runs it from the sources.

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

// The embedded database opens while the app's modules load: PGlite compiles
// its WebAssembly on background threads meanwhile. (That is most of the
// loading under tsx; in the bundle `npm start` runs, the packages load before
// this line and only our modules' evaluation is left to overlap, which
// measured as fast as splitting the app into a chunk of its own.) A folder in
// use still fails at once, before the app is built.
let embedded: EmbeddedDatabase | undefined
let buildApp: typeof import('./app.ts').buildApp
const opening = config.databaseUrl ? Promise.resolve(undefined) : openEmbeddedDatabase(config.dataDir)
try {
  ;[{ buildApp }, embedded] = await Promise.all([import('./app.ts'), opening])
} catch (error) {
  if (error instanceof DataDirInUseError) {
    console.error(error.message)
    process.exit(1)
  }
  // the app's code failed to load: close the folder cleanly rather than exit with PGlite half open
  await opening.then(async (database) => {
    await database?.handle.close()
    await database?.release()
  }, () => {})
  throw error
}
const app = await buildApp(config, { database: embedded?.handle })
embedded?.serveAdminCommands(app)

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  // `on`, not `once`: a second signal (Ctrl-C twice, a supervisor repeating itself; under tsx, its relay of the
  // one the process group got) must not kill a graceful shutdown
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
