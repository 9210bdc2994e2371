import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase, withClient } from '../../helpers/postgres.ts'
import { launchServer, type ServerProcess } from '../../helpers/server-process.ts'
import { signIn } from '../../helpers/sign-in.ts'
import { claimRedisDatabase } from '../fan-out/processes.ts'
import { groupCpuMs, postgresCpuMs } from '../geofence/cpu.ts'
import type { Cleanup } from '../geofence/cleanup.ts'
import { stopServer } from '../geofence/cleanup.ts'
import { wallNow, type CountingSink } from './counting-sink.ts'
import { summarize, type RunPlan, type RunResult } from './run-result.ts'
import { startWorker, type WorkerProcess } from './worker-process.ts'

// Our whole path, as deployed with Redis: a server process that saves the
// incidents (the outbox trigger decides one delivery per subscriber in the
// save's transaction, the dispatcher hands them to BullMQ), and a worker
// process (`npm run worker`) that claims each delivery, makes its
// acknowledge link, mails it through its nodemailer pool and records it sent.

const ADMIN_PASSWORD = 'delivery-bench-password'
export const PUBLIC_URL = 'http://tracker.bench'
/** the area every incident lands in; the subscribers take every area */
const CENTER = { lon: 7.45, lat: 46.95 }

export interface Ours {
  recipients: string[]
  /** the payload the outbox trigger stored for an alert: the floor mails the same */
  samplePayload(): Promise<unknown>
  run(plan: RunPlan, timeoutMs: number): Promise<RunResult>
  /** the server's and the worker's state and last output, for a failure message */
  describe(): string
}

export async function startOurs(options: {
  users: number
  sink: CountingSink
  cleanup: Cleanup
  log: (line: string) => void
  /** more of the worker's configuration, for an experiment (BENCH_WORKER_ENV) */
  workerEnv?: Record<string, string>
}): Promise<Ours> {
  const { users, sink, cleanup, log } = options
  const database = await createDatabase()
  cleanup.add(`drop ${database.name}`, database.drop)
  const redis = await claimRedisDatabase('delivery')
  // release empties it: BullMQ's keys go with our stream
  cleanup.add('empty and release our Redis database', redis.release)
  const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, PUBLIC_URL }
  const server = await launchServer({ ...env, ADMIN_PASSWORD, LOG_LEVEL: 'warn' }, { via: 'npm start' })
  cleanup.add(`stop the server ${server.url}`, () => stopServer(server))
  await server.healthy()
  const { key } = await signIn(server.url, 'admin', ADMIN_PASSWORD)
  const recipients = await subscribe(database.url, users)
  await api(server, key, '/api/areas', {
    type: 'Feature',
    geometry: { type: 'Polygon', coordinates: [[[CENTER.lon - 0.1, CENTER.lat - 0.1], [CENTER.lon + 0.1, CENTER.lat - 0.1], [CENTER.lon + 0.1, CENTER.lat + 0.1], [CENTER.lon - 0.1, CENTER.lat + 0.1], [CENTER.lon - 0.1, CENTER.lat - 0.1]]] },
    properties: { name: 'Old town', severity: 'info' },
  })
  const worker = await startWorker({ ...env, SMTP_URL: sink.url, ...options.workerEnv })
  cleanup.add('stop the worker', () => worker.stop())
  log(`server ${server.url} and a worker up; ${recipients.length} subscribers, one area`)

  const pool = new pg.Pool({ connectionString: database.url, max: 1 })
  pool.on('error', () => {})
  cleanup.add('close the inspection pool', () => pool.end())

  return {
    recipients,
    async samplePayload() {
      const { rows: [row] } = await pool.query<{ payload: unknown }>("SELECT p.payload FROM deliveries d JOIN delivery_payloads p ON p.id = d.payload_id WHERE d.kind = 'alert' AND d.channel = 'email' LIMIT 1")
      if (!row) throw new Error('no alert delivery to copy the payload of: run ours first')
      return row.payload
    },
    describe: () => `${server.describe()}\n--- the worker's last output\n${worker.output().slice(-3000)}`,
    run: (plan, timeoutMs) => runOurs({ plan, timeoutMs, server, key, worker, sink, pool, databaseUrl: database.url, redisUrl: redis.url, users: recipients.length }),
  }
}

/** `users` viewers with addresses, each subscribed to email alerts of every severity in every area: two statements */
async function subscribe(databaseUrl: string, users: number): Promise<string[]> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: number; email: string }>(
      `INSERT INTO users (username, password_hash, role, email)
       SELECT 'subscriber' || g, 'not-a-password-hash: never signs in', 'viewer', 'subscriber' || g || '@bench.test'
         FROM generate_series(1, $1::int) g
       RETURNING id, email`,
      [users],
    )
    await client.query("INSERT INTO subscriptions (user_id, email_alerts, min_severity, areas) SELECT unnest($1::int[]), true, 'info', NULL", [rows.map((r) => r.id)])
    return rows.map((r) => r.email)
  })
}

async function api(server: ServerProcess, key: string, path: string, body: unknown): Promise<{ properties: { id: number } }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${(await response.text()).slice(0, 300)}`)
  return (await response.json()) as { properties: { id: number } }
}

interface RunContext {
  plan: RunPlan
  timeoutMs: number
  server: ServerProcess
  key: string
  worker: WorkerProcess
  sink: CountingSink
  pool: pg.Pool
  databaseUrl: string
  redisUrl: string
  users: number
}

async function runOurs(ctx: RunContext): Promise<RunResult> {
  const { plan, sink, pool } = ctx
  const expected = plan.alerts * ctx.users
  sink.reset()
  const before = await cpu(ctx)
  const t0 = wallNow() + 50
  // incident i is due at t0 + i / rate whatever the server does (an open loop); its mails' latency runs from then
  const scheduled = new Map<number, number>()
  const posts: Promise<void>[] = []
  for (let i = 0; i < plan.alerts; i++) {
    const due = Number.isFinite(plan.alertRate) ? t0 + (i * 1000) / plan.alertRate : t0
    const wait = due - wallNow()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    const post = api(ctx.server, ctx.key, '/api/incidents', {
      name: `Fire ${plan.runId}-${i}`,
      description: 'a delivery benchmark incident',
      severity: 'urgent',
      location: { lon: CENTER.lon + ((i % 50) - 25) / 1000, lat: CENTER.lat },
    }).then((feature) => void scheduled.set(feature.properties.id, due))
    // observed at once: a failure while later incidents are still waiting for their time is reported below, not left unhandled
    post.catch(() => {})
    posts.push(post)
  }
  await Promise.all(posts)
  await sink.waitFor(expected, ctx.timeoutMs)
  const after = await cpu(ctx)
  const incidents = [...scheduled.keys()]

  // the worker records a delivery sent just after the 250: wait for the last records, then read when each stage happened
  const sentCount = async () => Number((await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM deliveries d JOIN delivery_payloads p ON p.id = d.payload_id
      WHERE d.state = 'sent' AND (p.payload -> 'feature' -> 'properties' ->> 'id')::int = ANY($1)`, [incidents])).rows[0]!.n)
  const deadline = Date.now() + 30_000
  while ((await sentCount()) < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  const { rows } = await pool.query<{ id: number; incident: number; created: number; enqueued: number | null; claimed: number | null; sent: number | null }>(
    `SELECT d.id, (p.payload -> 'feature' -> 'properties' ->> 'id')::int AS incident,
            extract(epoch FROM d.created) * 1000 AS created, extract(epoch FROM d.enqueued) * 1000 AS enqueued,
            extract(epoch FROM d.last_attempt) * 1000 AS claimed, extract(epoch FROM d.sent) * 1000 AS sent
       FROM deliveries d JOIN delivery_payloads p ON p.id = d.payload_id
      WHERE (p.payload -> 'feature' -> 'properties' ->> 'id')::int = ANY($1)`,
    [incidents],
  )
  const byId = new Map(rows.map((r) => [r.id, { ...r, scheduled: scheduled.get(r.incident)! }]))
  const deliveryOf = (messageId: string) => byId.get(Number(/^<delivery-(\d+)@/.exec(messageId)?.[1]))
  const result = summarize({ arrivals: sink.arrivals, expected, t0, scheduledOf: (id) => deliveryOf(id)?.scheduled })

  const perMail = (ms: number) => ms / result.mails
  result.cpu = {
    'sender CPU': perMail(after.worker - before.worker),
    'server CPU': perMail(after.server - before.server),
    'PostgreSQL CPU': perMail(after.postgres - before.postgres),
    'Redis CPU': perMail(after.redis - before.redis),
    'sink CPU': perMail(after.self - before.self),
  }
  // where a mail's time went, from the rows' own timestamps (PostgreSQL's clock: each is its statement's transaction start)
  const stages = { 'due → saved': [] as number[], 'saved → claimed by the worker': [] as number[], 'claimed → in the mailbox': [] as number[] }
  for (const arrival of sink.arrivals) {
    const d = deliveryOf(arrival.messageId)
    if (!d || d.claimed === null) continue
    stages['due → saved'].push(d.created - d.scheduled)
    stages['saved → claimed by the worker'].push(d.claimed - d.created)
    stages['claimed → in the mailbox'].push(arrival.at - d.claimed)
  }
  result.stages = stages
  return result
}

interface CpuReading {
  worker: number
  server: number
  postgres: number
  redis: number
  self: number
}

async function cpu(ctx: RunContext): Promise<CpuReading> {
  const self = process.cpuUsage()
  return {
    worker: groupCpuMs(ctx.worker.pid),
    server: groupCpuMs(ctx.server.child.pid!),
    postgres: await withClient(ctx.databaseUrl, postgresCpuMs),
    redis: await redisCpuMs(ctx.redisUrl),
    self: (self.user + self.system) / 1000,
  }
}

/** The Redis server's own account of its CPU (INFO cpu): the whole server, every database */
async function redisCpuMs(url: string): Promise<number> {
  const client = createClient({ url })
  await client.connect()
  try {
    const info = await client.info('cpu')
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1])
    return (field('used_cpu_sys') + field('used_cpu_user')) * 1000
  } finally {
    await client.close()
  }
}
