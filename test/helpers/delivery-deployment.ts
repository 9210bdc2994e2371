import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import type { Delivery, DeliveryPage, Subscription } from '../../contracts/deliveries.ts'
import type { Severity } from '../../contracts/severity.ts'
import { mailMessageId, webhookMessageId } from '../../server/jobs/deliver.ts'
import { createDatabase } from './postgres.ts'
import { privateRedis } from './redis-server.ts'
import { launchServer, type ServerProcess } from './server-process.ts'
import { signIn } from './sign-in.ts'
import type { SmtpSink } from './smtp-sink.ts'
import { waitUntil } from './wait.ts'
import type { WebhookReceiver } from './webhook-receiver.ts'
import { launchWorker, type WorkerProcess } from './worker-process.ts'

// One deployment of the tracker as real processes, for the tests of the
// delivery path: on PostgreSQL, a server (its jobs left to workers) and
// `npm run worker` processes on a Redis; on the embedded default, `npm start`
// on a data folder of its own, running the jobs itself. Everything is set up
// through the REST API, as people would.

export type DeliveryBackend = 'postgres' | 'pglite'
export const DELIVERY_BACKENDS: DeliveryBackend[] = ['postgres', 'pglite']

const ADMIN_PASSWORD = 'deliveries-admin-password'
export const PUBLIC_URL = 'http://tracker.test'

/**
 * Times shrunk so each fault plays out in seconds: a retry after about
 * 200 ms, doubling to 2 s at most (20 attempts outlast a 10 s outage many
 * times over); a dead worker's jobs taken again after about 2 s.
 */
const FAST = {
  DELIVERY_BACKOFF_MS: '200',
  DELIVERY_MAX_BACKOFF_MS: '2000',
  DELIVERY_ATTEMPTS: '20',
  JOB_LOCK_MS: '2000',
  JOB_DISPATCH_MS: '200',
}

export interface DeploymentOptions {
  smtp: SmtpSink
  /** PostgreSQL only: the Redis to use (one the test stops, say); default a redis-server of the deployment's own */
  redisUrl?: string
  /** PostgreSQL only: worker processes to start with (default 1) */
  workers?: number
  env?: Record<string, string>
}

export interface Deployment {
  backend: DeliveryBackend
  server: ServerProcess
  /** the worker processes running now (none on the embedded default: the server runs the jobs) */
  workers: WorkerProcess[]
  api: TrackerApi
  /** PostgreSQL: one more worker process, ready */
  addWorker(): Promise<WorkerProcess>
  /** a new server process on the same database (after the last one was killed) */
  restartServer(): Promise<void>
  close(): Promise<void>
}

export async function deploy(backend: DeliveryBackend, options: DeploymentOptions): Promise<Deployment> {
  const cleanups: (() => Promise<void>)[] = []
  const env: Record<string, string> = {
    ADMIN_PASSWORD,
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    SMTP_URL: options.smtp.url,
    PUBLIC_URL,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    ...FAST,
    ...options.env,
  }
  if (backend === 'postgres') {
    const database = await createDatabase()
    cleanups.push(database.drop)
    let redisUrl = options.redisUrl
    if (!redisUrl) {
      // a Redis of its own, not a database on the shared one: the job queue has one name,
      // and a worker of any other deployment on the same Redis database would take its jobs
      const redis = await privateRedis()
      await redis.start()
      cleanups.push(() => redis.stop())
      redisUrl = redis.url
    }
    Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: redisUrl, JOBS_IN_PROCESS: 'false' })
  } else {
    // the migrated template, as a data folder npm start has already made (initdb and PostGIS take long on a busy machine)
    const dataDir = await mkdtemp(join(tmpdir(), 'deliveries-'))
    await cp(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true })
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    env.DATA_DIR = dataDir
  }

  /** every process this deployment started, so close ends them all */
  const launched: { kill(): Promise<void> }[] = []
  const start = async () => {
    const server = await launchServer(env, { via: 'npm start' })
    launched.push(server)
    await server.healthy()
    return server
  }
  const deployment: Deployment = {
    backend,
    server: await start(),
    workers: [],
    api: undefined as unknown as TrackerApi,
    async addWorker() {
      if (backend !== 'postgres') throw new Error('the embedded default has no worker processes: npm start runs the jobs')
      const worker = await launchWorker(env)
      launched.push(worker)
      await worker.ready()
      deployment.workers.push(worker)
      return worker
    },
    async restartServer() {
      deployment.server = await start()
      deployment.api.baseUrl = deployment.server.url
    },
    async close() {
      await Promise.all(launched.map((process) => process.kill()))
      for (const cleanup of cleanups.reverse()) await cleanup()
    },
  }
  try {
    deployment.api = await trackerApi(deployment.server.url)
    if (backend === 'postgres') await Promise.all(Array.from({ length: options.workers ?? 1 }, () => deployment.addWorker()))
  } catch (error) {
    await deployment.close()
    throw error
  }
  return deployment
}

export interface Person {
  id: number
  username: string
  key: string
  email: string
}

export interface TrackerApi {
  /** the server the calls go to (changes when it is restarted) */
  baseUrl: string
  adminKey: string
  operatorKey: string
  /** a JSON request; fails the test on an unexpected status */
  call<T = any>(method: string, path: string, key: string, body?: unknown, expected?: number): Promise<T>
  /** a viewer with an address an admin set, and their subscription (none: never turned on) */
  person(email: string, subscription?: Subscription): Promise<Person>
  /** an operator registers the receiver's URL with these filters; the receiver trusts the secret the 201 showed */
  webhook(receiver: WebhookReceiver, filter: { min_severity: Severity; areas: number[] | 'all' }): Promise<number>
  area(name: string, severity: Severity, square: { lon: number; lat: number; half: number }): Promise<number>
  /** an incident reported by the operator; its id */
  incident(name: string, severity: Severity, at: { lon: number; lat: number }): Promise<number>
  /** every delivery, oldest first (admin) */
  deliveries(): Promise<Delivery[]>
  /** resolves once no delivery is pending or sending */
  settled(timeoutMs?: number): Promise<Delivery[]>
}

export async function trackerApi(baseUrl: string): Promise<TrackerApi> {
  const api: TrackerApi = {
    baseUrl,
    adminKey: '',
    operatorKey: '',
    async call(method, path, key, body, expected) {
      const response = await fetch(`${api.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      const ok = expected === undefined ? response.status >= 200 && response.status < 300 : response.status === expected
      if (!ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
      return (text ? JSON.parse(text) : undefined) as never
    },
    async person(email, subscription) {
      const username = `person-${Math.random().toString(36).slice(2, 8)}`
      const password = `${username}-password`
      const user = await api.call<{ id: number }>('POST', '/api/users', api.adminKey, { username, password, role: 'viewer' }, 201)
      await api.call('PATCH', `/api/users/${user.id}`, api.adminKey, { email }, 200)
      const key = (await signIn(api.baseUrl, username, password)).key
      if (subscription) await api.call('PUT', '/api/me/subscription', key, subscription, 200)
      return { id: user.id, username, key, email }
    },
    async webhook(receiver, filter) {
      const created = await api.call<{ id: number; secret: string }>('POST', '/api/webhooks', api.operatorKey, { url: receiver.url, ...filter }, 201)
      receiver.trust(created.secret)
      return created.id
    },
    async area(name, severity, { lon, lat, half }) {
      const ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]
      const area = await api.call<{ properties: { id: number } }>('POST', '/api/areas', api.operatorKey, {
        type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { name, severity },
      }, 201)
      return area.properties.id
    },
    async incident(name, severity, { lon, lat }) {
      const incident = await api.call<{ properties: { id: number } }>('POST', '/api/incidents', api.operatorKey, {
        type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, severity },
      }, 201)
      return incident.properties.id
    },
    async deliveries() {
      const all: Delivery[] = []
      let cursor: number | null = null
      do {
        const page: DeliveryPage = await api.call('GET', `/api/deliveries?limit=500${cursor === null ? '' : `&cursor=${cursor}`}`, api.adminKey)
        all.push(...page.deliveries)
        cursor = page.next_cursor
      } while (cursor !== null)
      return all.reverse()
    },
    async settled(timeoutMs = 30_000) {
      let rows: Delivery[] = []
      await waitUntil(async () => {
        rows = await api.deliveries()
        return rows.every((d) => d.state === 'sent' || d.state === 'failed')
      }, { timeoutMs, everyMs: 100, what: () => `every delivery sent or failed: ${JSON.stringify(rows.filter((d) => d.state !== 'sent' && d.state !== 'failed'))}` })
      return rows
    },
  }
  api.adminKey = (await signIn(baseUrl, 'admin', ADMIN_PASSWORD)).key
  const operator = `operator-${Math.random().toString(36).slice(2, 8)}`
  await api.call('POST', '/api/users', api.adminKey, { username: operator, password: `${operator}-password`, role: 'operator' }, 201)
  api.operatorKey = (await signIn(baseUrl, operator, `${operator}-password`)).key
  return api
}

/** The Message-ID a delivery's mail carries, or the webhook-id its POST carries: what a receiver counts it by. */
export const messageIdOf = (delivery: Delivery) => (delivery.channel === 'email' ? mailMessageId(delivery, PUBLIC_URL) : webhookMessageId(delivery))

/** How many times each id occurs. */
export function tally(ids: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1)
  return counts
}
