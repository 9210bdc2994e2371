import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../server/app.ts'
import { loadConfig } from '../../server/config.ts'
import type { Role } from '../../contracts/users.ts'
import type { Notification, NotificationBody } from '../../contracts/live.ts'
import { openDatabase, type DatabaseHandle } from '../../db/connect.ts'
import { notificationOf } from '../../server/live/stream.ts'
import { createDatabase } from './postgres.ts'
import { signIn } from './sign-in.ts'
import { waitUntil } from './wait.ts'

export const BACKENDS = ['pglite', 'postgres'] as const
export type Backend = (typeof BACKENDS)[number]

export const ADMIN_PASSWORD = 'admin-password-for-tests'

export interface TestUser {
  id: number
  username: string
  password: string
  role: Role
  key: string
}

export interface TestServer {
  app: FastifyInstance
  backend: Backend
  /** the environment it was built from (a second app shares its database with it) */
  env: Record<string, string>
  /** listens on a random loopback port; resolves with http://127.0.0.1:<port> */
  listen(): Promise<string>
  /** every log line the app wrote, as text */
  logs: string[]
  /** signs in (test/helpers/sign-in.ts); the session key */
  login(username: string, password: string): Promise<string>
  /** creates a user with this role and signs it in */
  user(role: Role): Promise<TestUser>
  admin(): Promise<TestUser>
  /**
   * Every notification this instance's group has received, oldest first,
   * once the relay has published what was committed before the call: what
   * the saves so far told the live map. (The outbox table holds only what
   * is not yet published.)
   */
  published(): Promise<Notification[]>
  /** The bodies `published` added since the previous call (what the saves in between said), without the ids the group gave them. */
  newlyPublished(): Promise<NotificationBody[]>
  close(): Promise<void>
}

/**
 * A database handle of its own on a backend, without a server: a fresh
 * PostgreSQL database, or an in-memory PGlite. `close` closes it and drops
 * the PostgreSQL database.
 */
export async function openTestDatabase(backend: Backend, poolSize = 2): Promise<{ handle: DatabaseHandle; close: () => Promise<void> }> {
  if (backend === 'pglite') {
    const handle = await openDatabase({ dataDir: 'memory://' })
    return { handle, close: () => handle.close() }
  }
  const database = await createDatabase()
  const handle = await openDatabase({ databaseUrl: database.url, dataDir: 'unused', poolSize })
  return {
    handle,
    async close() {
      await handle.close()
      await database.drop()
    },
  }
}

/** Where a backend keeps its data for one test file: a fresh PostgreSQL database or a fresh PGlite folder. */
export async function freshDatabaseEnv(backend: Backend): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (backend === 'postgres') {
    const database = await createDatabase()
    return { env: { DATABASE_URL: database.url }, drop: database.drop }
  }
  const dir = await mkdtemp(join(tmpdir(), 'pglite-test-'))
  await cp(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true })
  return { env: { DATA_DIR: dir, PGLITE_DIR: join(dir, 'pglite') }, drop: () => rm(dir, { recursive: true, force: true }) }
}

export async function startTestServer(
  backend: Backend,
  env: Record<string, string> = {},
  /** a second app in this process for the same deployment: same database, dropped by that one */
  shareWith?: TestServer,
): Promise<TestServer> {
  const database = shareWith ? { env: shareWith.env, drop: async () => {} } : await freshDatabaseEnv(backend)
  const logs: string[] = []
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk))
      done()
    },
  })
  const fullEnv = { ADMIN_PASSWORD, LOG_LEVEL: 'info', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', ...database.env, ...env }
  const config = loadConfig(fullEnv)
  // tests open the copied PGlite folder directly (the lock and admin socket belong to `npm start`)
  if (backend === 'pglite') config.dataDir = database.env.PGLITE_DIR!
  const app = await buildApp(config, { logStream, announce: () => {} })
  await app.ready()

  const login = async (username: string, password: string) => (await signIn(app, username, password)).key

  const received: Notification[] = []
  const unsubscribe = app.stream.subscribe((delivery) => received.push(notificationOf(delivery)))
  let handedOut = 0
  async function published(): Promise<Notification[]> {
    await app.relay.wake()
    // with Redis, what the relay published comes back through the stream a moment later
    await waitUntil(() => received.length >= app.relay.stats.published, {
      everyMs: 10,
      what: () => `the group to receive the ${app.relay.stats.published} notifications the relay published (it has ${received.length})`,
    })
    return [...received]
  }

  let adminUser: TestUser | undefined
  return {
    app,
    backend,
    env: fullEnv,
    listen: () => app.listen({ port: 0, host: '127.0.0.1' }),
    logs,
    login,
    async user(role) {
      const username = `${role}-${randomBytes(3).toString('hex')}`
      const password = `pw-${randomBytes(6).toString('hex')}`
      const created = await app.users.create(username, password, role)
      return { id: created.id, username, password, role, key: await login(username, password) }
    },
    async admin() {
      if (!adminUser) {
        const found = (await app.users.findByUsername('admin'))!
        adminUser = { id: found.id, username: 'admin', password: ADMIN_PASSWORD, role: 'admin', key: await login('admin', ADMIN_PASSWORD) }
      }
      return adminUser
    },
    published,
    async newlyPublished() {
      const fresh = (await published()).slice(handedOut)
      handedOut += fresh.length
      return fresh.map(({ id: _id, event: _event, ...body }) => body as NotificationBody)
    },
    async close() {
      unsubscribe()
      await app.close()
      await database.drop()
    },
  }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** A square polygon around a point, `half` degrees each side. */
export function square(lon: number, lat: number, half: number) {
  return {
    type: 'Polygon' as const,
    coordinates: [[[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]] as [number, number][][],
  }
}

export const point = (lon: number, lat: number) => ({ type: 'Point' as const, coordinates: [lon, lat] as [number, number] })
