import { ConfigError, loadConfig, type AppConfig } from './config.ts'
import { openDatabase } from '../db/connect.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { startJobRuntime } from './jobs/job-runtime.ts'

// `npm run worker`: a process that runs the jobs (alert deliveries,
// escalations, invitation mail) against the same PostgreSQL and Redis as the
// servers. Start as many as the work needs, on any machine: the job engine
// (BullMQ) shares the jobs among them. On the embedded default there is no
// worker to start: `npm start` runs the jobs itself.

let config: AppConfig
try {
  config = loadConfig()
  if (!config.databaseUrl || !config.redisUrl) {
    throw new ConfigError('invalid configuration: a worker needs DATABASE_URL and REDIS_URL (on the embedded default, npm start runs the jobs itself)')
  }
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message)
    process.exit(2)
  }
  throw error
}

const log = (level: string, message: string, error?: unknown) => {
  if (config.logLevel === 'silent') return
  const line: Record<string, unknown> = { level, time: new Date().toISOString(), msg: message, pid: process.pid }
  if (error) line.err = error instanceof Error ? error.message : String(error)
  process.stderr.write(`${JSON.stringify(line)}\n`)
}

const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: Math.min(config.dbPoolSize, config.jobs.concurrency + 2) })
await migrateToLatest(database.db)
const runtime = startJobRuntime({
  db: database.db,
  config: config.jobs,
  redisUrl: config.redisUrl,
  work: true,
  log: { warn: (m, e) => log('warn', m, e), error: (m, e) => log('error', m, e) },
})
log('info', `worker ready: ${config.jobs.concurrency} jobs at once, mail ${config.jobs.smtpUrl ? 'on' : 'off (no SMTP_URL)'}`)

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return
    closing = true
    log('info', `${signal}: finishing the running jobs`)
    const force = setTimeout(() => process.exit(1), 30_000).unref()
    runtime
      .close()
      .then(() => database.close())
      .then(
        () => {
          clearTimeout(force)
          process.exit(0)
        },
        (error: unknown) => {
          log('error', 'shutdown failed', error)
          process.exit(1)
        },
      )
  })
}
