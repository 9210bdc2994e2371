import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isFeatureNotification, type ServerFrame } from '../../../../contracts/live.ts'
import { createDatabase } from '../../../helpers/postgres.ts'
import { privateRedis, type PrivateRedis } from '../../../helpers/redis-server.ts'
import { launchServer, type ServerProcess } from '../../../helpers/server-process.ts'
import { signIn } from '../../../helpers/sign-in.ts'
import { waitUntil } from '../../../helpers/wait.ts'
import { connect, readyOf } from '../../../helpers/ws-client.ts'

// A server started while its Redis is down serves anyway: saves go to the
// outbox, health says the notification layer is down (200: the instance can
// serve; a load balancer should keep it), and once Redis is up it connects
// and publishes what was saved meanwhile.

const ADMIN_PASSWORD = 'redis-down-admin-password'
const isType = (type: ServerFrame['type']) => (frame: ServerFrame) => frame.type === type

describe('a server started while Redis is down', () => {
  let redis: PrivateRedis
  let drop: () => Promise<void>
  let server: ServerProcess

  beforeAll(async () => {
    redis = await privateRedis() // a free port where nothing listens yet
    const database = await createDatabase()
    drop = database.drop
    server = await launchServer({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      ADMIN_PASSWORD,
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      // only saves wake the relay here, so the test knows when it publishes (the sweep would, within this)
      RELAY_SWEEP_MS: '60000',
    })
  })
  afterAll(async () => {
    if (server) expect(await server.stop(), server.output()).toEqual({ code: 0, signal: null })
    await redis?.stop()
    await drop?.()
  }, 60_000)

  const health = async () => (await fetch(`${server.url}/api/health`)).json() as Promise<{ status: string; notifications: { ok: boolean } }>
  const layerUp = async () => /^tracker_notification_layer_up (\d)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]

  it('starts, serves and saves, and publishes from the outbox once Redis is up', async () => {
    await server.healthy(60_000)
    const down = await fetch(`${server.url}/api/health`)
    expect(down.status).toBe(200)
    expect(await down.json()).toEqual({
      status: 'ok',
      database: { ok: true, kind: 'postgres' },
      notifications: { ok: false, kind: 'redis', detail: 'connecting' },
    })
    expect(await layerUp()).toBe('0')

    const key = (await signIn(server.url, 'admin', ADMIN_PASSWORD)).key
    const post = async (name: string) => {
      const response = await fetch(`${server.url}/api/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ name, location: { lon: 5, lat: 6 } }),
      })
      expect(response.status).toBe(201)
      return ((await response.json()) as { id: string }).id
    }
    const savedWhileDown = await post('saved while Redis is down')

    // a socket joins meanwhile: its position belongs to no history yet
    const early = await connect(`${server.url.replace('http', 'ws')}/ws`, { authorization: `Bearer ${key}` })
    const earlyReady = await readyOf(early)
    expect(earlyReady.epoch).toBeNull()

    await redis.start()
    await waitUntil(async () => (await health()).notifications.ok, { everyMs: 50, what: 'health to report the notification layer up' })
    expect(await health()).toMatchObject({ status: 'ok', notifications: { ok: true, kind: 'redis' } })
    expect(await layerUp()).toBe('1')

    // what reached that socket meanwhile can't be known: it is closed, and resuming (as the
    // web client does with a null epoch: since only) it is told to reload
    expect(await early.closed).toEqual({ code: 1012, reason: 'notification history restarted' })
    const resumed = await connect(`${server.url.replace('http', 'ws')}/ws?since=${earlyReady.id}`, { authorization: `Bearer ${key}` })
    await resumed.waitFor(isType('ready'))
    expect(resumed.frames[0]).toEqual({ type: 'reset' })
    expect((await readyOf(resumed)).epoch).toEqual(expect.any(String))

    // the next save wakes the relay: the one saved while Redis was down goes out first, from the outbox
    const savedAfter = await post('saved after Redis is up')
    const received = (await resumed.waitFor((frame) => frame.type === 'post_save', 2)).filter(isFeatureNotification)
    expect(received.map((n) => n.feature.id)).toEqual([savedWhileDown, savedAfter])
    resumed.close()
  }, 120_000)
})
