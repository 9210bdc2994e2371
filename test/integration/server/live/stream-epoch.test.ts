import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from 'redis'
import { isNotification, type Notification, type ServerFrame } from '../../../../contracts/live.ts'
import { EPOCH_KEY, STREAM } from '../../../../server/live/redis-stream.ts'
import { bearer, freshDatabaseEnv, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { privateRedis, type PrivateRedis } from '../../../helpers/redis-server.ts'
import { launchServer, type ServerProcess } from '../../../helpers/server-process.ts'
import { signIn } from '../../../helpers/sign-in.ts'
import { waitUntil, within } from '../../../helpers/wait.ts'
import { connect, readyOf, type LiveClient } from '../../../helpers/ws-client.ts'

// A client resumes with the id it last saw and the epoch of the history that
// id belongs to. When that history is gone (the embedded default restarted;
// Redis restarted without persistence), the new history's ids still compare
// with the old one's: a replay would hand over some notifications and not
// the ones lost with the old history. So a since from another epoch, or one
// that comes without an epoch, is answered with `reset` (the client reloads).

const ADMIN_PASSWORD = 'stream-epoch-admin-password'
const isType = (type: ServerFrame['type']) => (frame: ServerFrame) => frame.type === type
const named = (frames: ServerFrame[]) => frames.filter(isNotification).map((n) => n.type === 'post_save' && n.feature.properties.name)
const wsUrl = (url: string) => `${url.replace('http', 'ws')}/ws`

describe('the embedded default, restarted on the same data folder', () => {
  let drop: () => Promise<void>
  let env: Record<string, string>
  let first: ServerProcess | undefined
  let second: ServerProcess | undefined

  beforeAll(async () => {
    const database = await freshDatabaseEnv('pglite')
    drop = database.drop
    env = { DATA_DIR: database.env.DATA_DIR!, ADMIN_PASSWORD, LOGIN_RATE_LIMIT_PER_MINUTE: '1000' }
  })
  afterAll(async () => {
    // gone before their folder is
    await first?.kill()
    await second?.kill()
    await drop?.()
  }, 30_000)

  async function save(server: ServerProcess, key: string, name: string) {
    const response = await fetch(`${server.url}/api/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ name, location: { lon: 1, lat: 2 } }),
    })
    expect(response.status).toBe(201)
  }

  let oldEpoch: string
  let seen: Notification

  it('a since from the previous process gets reset, not the part of the new history that compares after it', async () => {
    first = await launchServer(env)
    await first.healthy()
    let key = (await signIn(first.url, 'admin', ADMIN_PASSWORD)).key
    const before = await connect(wsUrl(first.url), bearer(key))
    await save(first, key, 'seen')
    seen = (await before.waitFor(isType('post_save')))[0] as Notification
    oldEpoch = (await readyOf(before)).epoch!
    before.close()
    // missed by the client, and lost with the first process's history
    await save(first, key, 'missed 1')
    await save(first, key, 'missed 2')
    expect(await first.stop()).toEqual({ code: 0, signal: null })

    second = await launchServer(env)
    await second.healthy()
    key = (await signIn(second.url, 'admin', ADMIN_PASSWORD)).key
    // the new history: its ids are later than `seen`, so without the epoch these would be "what was missed"
    const watcher = await connect(wsUrl(second.url), bearer(key))
    await save(second, key, 'after restart 1')
    await save(second, key, 'after restart 2')
    await watcher.waitFor(isType('post_save'), 2)

    const back = await connect(`${wsUrl(second.url)}?since=${seen.id}&epoch=${oldEpoch}`, bearer(key))
    await back.waitFor(isType('ready'))
    expect(back.frames[0]).toEqual({ type: 'reset' })
    expect(back.frames.filter(isNotification)).toEqual([])
    const ready = await readyOf(back)
    expect(ready.epoch).toEqual(expect.any(String))
    expect(ready.epoch).not.toBe(oldEpoch)
    expect(ready.epoch).toBe((await readyOf(watcher)).epoch)
    back.close()
    watcher.close()
  }, 240_000)

  it('a since without an epoch gets reset (it cannot be checked); with the right epoch it is replayed as before', async () => {
    const key = (await signIn(second!.url, 'admin', ADMIN_PASSWORD)).key
    const watcher = await connect(wsUrl(second!.url), bearer(key))
    const { epoch } = await readyOf(watcher)
    await save(second!, key, 'now 1')
    await save(second!, key, 'now 2')
    const [now1] = (await watcher.waitFor(isType('post_save'), 2)) as Notification[]
    watcher.close()

    const unchecked = await connect(`${wsUrl(second!.url)}?since=${now1!.id}`, bearer(key))
    await unchecked.waitFor(isType('ready'))
    // one reset, then ready: nothing else
    expect(unchecked.frames.map((f) => f.type)).toEqual(['reset', 'ready'])
    unchecked.close()

    const resumed = await connect(`${wsUrl(second!.url)}?since=${now1!.id}&epoch=${epoch}`, bearer(key))
    await resumed.waitFor(isType('ready'))
    expect(named(resumed.frames)).toEqual(['now 2'])
    expect(resumed.frames.some(isType('reset'))).toBe(false)
    expect((await readyOf(resumed)).epoch).toBe(epoch)
    resumed.close()
  }, 60_000)
})

describe('Redis restarted without persistence, or with an old snapshot', () => {
  let redis: PrivateRedis
  let redisDir: string
  let a: TestServer
  let operator: TestUser
  let url: string

  beforeAll(async () => {
    // a redis-server of our own, keeping nothing on disk: killed and started
    // again, it is a real restart without persistence (the stream and the
    // epoch are gone), which flushing a database would only imitate
    redisDir = await mkdtemp(join(tmpdir(), 'stream-epoch-redis-'))
    redis = await privateRedis({ dir: redisDir })
    await redis.start()
    a = await startTestServer('postgres', { REDIS_URL: redis.url, LOG_LEVEL: 'error' })
    url = wsUrl(await a.listen())
    operator = await a.user('operator')
  })
  afterAll(async () => {
    await a?.close()
    await redis?.stop()
    if (redisDir) await rm(redisDir, { recursive: true, force: true })
  })

  const save = async (name: string) =>
    expect((await a.app.inject({ method: 'POST', url: '/api/incidents', headers: bearer(operator.key), payload: { name, location: { lon: 3, lat: 4 } } })).statusCode).toBe(201)

  async function healthy() {
    await waitUntil(() => a.app.streamHealth().ok, { what: 'the notification layer to be up' })
    expect(a.app.streamHealth()).toEqual({ ok: true, kind: 'redis' })
  }

  it('closes the live sockets with 1012, answers a resume with the old epoch with reset, and goes on live on the new stream', async () => {
    const live: LiveClient = await connect(url, bearer(operator.key))
    await save('before restart')
    const [seen] = (await live.waitFor(isType('post_save'))) as Notification[]
    const oldEpoch = (await readyOf(live)).epoch!
    expect(oldEpoch).toEqual(expect.any(String))

    // The old stream's ids ran ahead of the clock (a Redis whose clock was
    // ahead; an entry added with an explicit id): the new stream's ids start
    // lower, and a follower that kept its old position would skip them all.
    const client = createClient({ url: redis.url })
    await client.connect()
    await client.sendCommand(['XADD', STREAM, `${Date.now() + 86_400_000}-0`, 'note', 'not a notification'])
    await client.close()

    await redis.stop()
    await redis.start()

    expect(await within(live.closed, 'the live socket to close')).toEqual({ code: 1012, reason: 'notification history restarted' })
    await healthy()
    // in the new stream, with an id later than `seen`: without the epoch, it would be "what was missed"
    await save('after restart 1')
    await a.published()

    const back = await connect(`${url}?since=${seen!.id}&epoch=${oldEpoch}`, bearer(operator.key))
    await back.waitFor(isType('ready'))
    expect(back.frames[0]).toEqual({ type: 'reset' })
    const newEpoch = (await readyOf(back)).epoch!
    expect(newEpoch).toEqual(expect.any(String))
    expect(newEpoch).not.toBe(oldEpoch)
    const check = createClient({ url: redis.url })
    await check.connect()
    expect(await check.get(EPOCH_KEY)).toBe(newEpoch) // the one every instance reads
    await check.close()

    await save('after restart 2')
    await back.waitFor((frame) => frame.type === 'post_save' && frame.feature.properties.name === 'after restart 2')
    expect(named(back.frames)).toEqual(['after restart 2'])
    back.close()
  }, 60_000)

  it('keeps sockets open across a reconnect to the same history', async () => {
    const live = await connect(url, bearer(operator.key))
    const { epoch } = await readyOf(live)
    // the connections drop, the data stays: same epoch, nothing to reload
    const admin = createClient({ url: redis.url })
    await admin.connect()
    const own = String(await admin.sendCommand(['CLIENT', 'ID']))
    const appConnections = async () =>
      new Set([...String(await admin.sendCommand(['CLIENT', 'LIST', 'TYPE', 'normal'])).matchAll(/\bid=(\d+)/g)].map((m) => m[1]!).filter((id) => id !== own))
    const killed = await appConnections()
    expect(killed.size).toBeGreaterThan(0)
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'])
    // the app has noticed once it is back with as many connections, all of them new
    await waitUntil(async () => {
      const now = await appConnections()
      return now.size >= killed.size && [...now].every((id) => !killed.has(id))
    }, { what: 'the app to reconnect to Redis' })
    await admin.close()
    await healthy()
    await save('after reconnect')
    await live.waitFor((frame) => frame.type === 'post_save' && frame.feature.properties.name === 'after reconnect')
    expect(live.socket.readyState).toBe(live.socket.OPEN)
    expect(a.app.stream.epoch()).toBe(epoch)
    live.close()
  }, 30_000)

  it('after a restore that lost the stream\'s tail, closes the live sockets and answers a resume from before the tail with reset', async () => {
    const live = await connect(url, bearer(operator.key))
    const { epoch } = await readyOf(live)
    const named = (name: string) => (frame: ServerFrame) => frame.type === 'post_save' && frame.feature.properties.name === name
    await save('in the snapshot')
    const [kept] = (await live.waitFor(named('in the snapshot'))) as Notification[]
    const admin = createClient({ url: redis.url })
    await admin.connect()
    await admin.sendCommand(['SAVE'])
    await admin.close()
    // published after the snapshot: a client that saw only `kept` missed it, and the restore loses it
    await save('lost with the tail')
    await live.waitFor(named('lost with the tail'))

    // the older snapshot comes back, epoch and all (as after a restart on RDB, or on an AOF that lost its last second)
    await redis.stop()
    await redis.start()

    expect(await within(live.closed, 'the live socket to close')).toEqual({ code: 1012, reason: 'notification history restarted' })
    await healthy()
    const back = await connect(`${url}?since=${kept!.id}&epoch=${epoch}`, bearer(operator.key))
    await back.waitFor(isType('ready'))
    expect(back.frames[0]).toEqual({ type: 'reset' })
    expect((await readyOf(back)).epoch).not.toBe(epoch)
    back.close()
  }, 60_000)
})
