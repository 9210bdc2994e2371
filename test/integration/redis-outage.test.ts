import { spawn, execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FeatureNotification } from '../../contracts/live.ts'
import { freePort } from '../helpers/server-process.ts'
import { bearer, startTestServer, type TestServer, type TestUser } from '../helpers/test-server.ts'
import { connect } from '../helpers/ws-client.ts'

// Redis goes away for several seconds while incidents keep coming in. Saves
// must not notice; the outbox holds the notifications until Redis is back,
// and then every client gets every one, in order.

let redisPort: number
let redisDir: string

async function startRedis(): Promise<void> {
  // appendonly: a restarted Redis still has the stream, as a production one would
  const child = spawn('redis-server', [
    '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always',
    '--dir', redisDir, '--daemonize', 'no',
  ], { stdio: 'ignore', detached: true })
  child.unref()
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: 'pipe' })
      return
    } catch {
      await sleep(100)
    }
  }
  throw new Error('redis-server did not start')
}

function stopRedis(): void {
  execFileSync('redis-cli', ['-p', String(redisPort), 'shutdown'], { stdio: 'pipe' })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('a Redis outage', () => {
  let a: TestServer
  let b: TestServer
  let operator: TestUser

  beforeAll(async () => {
    redisPort = await freePort()
    redisDir = await mkdtemp(join(tmpdir(), 'redis-outage-'))
    await startRedis()
    const env = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, RELAY_SWEEP_MS: '200', LOG_LEVEL: 'error' }
    a = await startTestServer('postgres', env)
    b = await startTestServer('postgres', env, a)
    operator = await a.user('operator')
  })

  afterAll(async () => {
    if (b && b !== a) await b.app.close()
    await a?.close()
    try {
      stopRedis()
    } catch {
      // already down
    }
    await rm(redisDir, { recursive: true, force: true })
  })

  it('loses nothing: every save succeeds, and every client receives every notification in order', async () => {
    const urls = [(await a.listen()).replace('http', 'ws'), (await b.listen()).replace('http', 'ws')]
    const clients = await Promise.all(urls.map((url) => connect(`${url}/ws`, bearer(operator.key))))

    const statuses: number[] = []
    const created: string[] = []
    const steadyLoad = (async () => {
      // ~10 incidents per second for ~7 seconds, alternating instances
      for (let i = 0; i < 70; i++) {
        const app = (i % 2 ? b : a).app
        const response = await app.inject({
          method: 'POST', url: '/api/incidents', headers: bearer(operator.key),
          payload: { name: `during outage ${i}`, location: { lon: i, lat: 0 } },
        })
        statuses.push(response.statusCode)
        if (response.statusCode === 201) created.push(response.json().id)
        await sleep(100)
      }
    })()

    await sleep(1500)
    stopRedis()
    await sleep(4000)
    expect(a.app.streamHealth().ok).toBe(false)
    await startRedis()
    await steadyLoad

    expect(statuses.every((s) => s === 201)).toBe(true)
    for (const client of clients) {
      await client.waitFor((f) => f.type === 'post_save', 70, 30_000)
      const saves = client.frames.filter((f): f is FeatureNotification => f.type === 'post_save')
      const unique = [...new Map(saves.map((n) => [n.event, n])).values()]
      expect(unique.map((n) => n.feature.id)).toEqual(created) // all of them, in the order they were saved
    }
    clients.forEach((c) => c.close())
  }, 90_000)
})
