import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FeatureNotification, ServerFrame } from '../../../contracts/live.ts'
import { createDatabase } from '../../helpers/postgres.ts'
import { launchServer, type ServerProcess } from '../../helpers/server-process.ts'
import { signIn } from '../../helpers/sign-in.ts'
import { freshRedisUrl } from '../../helpers/redis.ts'
import { connect, type LiveClient } from '../../helpers/ws-client.ts'

// The scale-out path: two real server processes share one PostgreSQL and one
// Redis. Whatever is saved through either reaches every client on both.

const ADMIN_PASSWORD = 'scale-out-admin-password'
const INCIDENTS = 1000

const createdSaves = (frames: ServerFrame[]) => {
  const seen = new Set<number>()
  return frames.filter((f): f is FeatureNotification => {
    if (f.type !== 'post_save' || !f.created || seen.has(f.event)) return false
    seen.add(f.event) // at-least-once delivery: a client drops an event it already has
    return true
  })
}

describe('two server processes sharing PostgreSQL and Redis', () => {
  let drop: () => Promise<void>
  const servers: ServerProcess[] = []
  let operatorKey: string
  let viewerKey: string

  beforeAll(async () => {
    const database = await createDatabase()
    drop = database.drop
    const env = { DATABASE_URL: database.url, REDIS_URL: await freshRedisUrl(), ADMIN_PASSWORD, LOGIN_RATE_LIMIT_PER_MINUTE: '1000', LOG_LEVEL: 'info' }
    // one after the other: the first creates the schema and the admin
    servers.push(await launchServer(env))
    await servers[0]!.healthy()
    servers.push(await launchServer(env))
    await servers[1]!.healthy()
    // both follow the stream before any client joins (these clients don't reconnect)
    for (const server of servers) await server.following()

    const adminKey = (await signIn(servers[0]!.url, 'admin', ADMIN_PASSWORD)).key
    for (const [username, role] of [['ops', 'operator'], ['watch', 'viewer']]) {
      const response = await fetch(`${servers[0]!.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ username, role, password: `${username}-password` }),
      })
      expect(response.status).toBe(201)
    }
    operatorKey = (await signIn(servers[0]!.url, 'ops', 'ops-password')).key
    viewerKey = (await signIn(servers[1]!.url, 'watch', 'watch-password')).key
  }, 180_000)

  afterAll(async () => {
    for (const server of servers) {
      expect(await server.stop()).toEqual({ code: 0, signal: null }) // graceful shutdown on SIGTERM
    }
    await drop?.()
  }, 60_000)

  it(`delivers all ${INCIDENTS} post_save notifications to every client on both instances, once each, in one order`, async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess]
    const ws = (url: string) => url.replace('http', 'ws') + '/ws'
    const clients: LiveClient[] = await Promise.all([
      connect(ws(a.url), { authorization: `Bearer ${operatorKey}` }),
      connect(ws(a.url), { authorization: `Bearer ${viewerKey}` }),
      connect(ws(b.url), { authorization: `Bearer ${operatorKey}` }),
      connect(ws(b.url), { authorization: `Bearer ${viewerKey}` }),
    ])

    // created through both instances, eight at a time
    const created: string[] = []
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < INCIDENTS) {
          const i = next++
          const response = await fetch(`${servers[i % 2]!.url}/api/incidents`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
            body: JSON.stringify({ name: `incident ${i}`, location: { lon: (i % 360) - 180, lat: (i % 170) - 85 } }),
          })
          expect(response.status).toBe(201)
          created.push(((await response.json()) as { id: string }).id)
        }
      }),
    )

    for (const client of clients) await client.waitFor((f) => f.type === 'post_save' && f.created, INCIDENTS, 60_000)
    const orders = clients.map((client) => createdSaves(client.frames))
    for (const order of orders) {
      expect(order).toHaveLength(INCIDENTS)
      expect(new Set(order.map((n) => n.feature.id))).toEqual(new Set(created))
    }
    const reference = orders[0]!.map((n) => n.id)
    for (const order of orders.slice(1)) expect(order.map((n) => n.id)).toEqual(reference)
    clients.forEach((c) => c.close())
  }, 180_000)

  it('reports the notification layer and counts frames in /metrics', async () => {
    const health = await (await fetch(`${servers[1]!.url}/api/health`)).json()
    expect(health).toMatchObject({ status: 'ok', database: { ok: true, kind: 'postgres' }, notifications: { ok: true, kind: 'redis' } })
    const metrics = await (await fetch(`${servers[1]!.url}/metrics`)).text()
    const framesSent = Number(/^tracker_frames_sent_total (\d+)$/m.exec(metrics)?.[1])
    expect(framesSent).toBeGreaterThanOrEqual(2 * INCIDENTS)
    expect(metrics).toMatch(/^tracker_notification_layer_up 1$/m)
  })

  it('never writes a session key to the logs', () => {
    for (const server of servers) {
      for (const key of [operatorKey, viewerKey]) expect(server.output()).not.toContain(key)
    }
  })
})
