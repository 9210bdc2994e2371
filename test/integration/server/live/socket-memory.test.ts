import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isNotification } from '../../../../contracts/live.ts'
import { createDatabase } from '../../../helpers/postgres.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { launchServer, type ServerProcess } from '../../../helpers/server-process.ts'
import { signIn } from '../../../helpers/sign-in.ts'
import { waitUntil } from '../../../helpers/wait.ts'
import { connect } from '../../../helpers/ws-client.ts'
import { stall, type StalledSocket } from '../../../helpers/stalled-socket.ts'
import { BACKENDS, square } from '../../../helpers/test-server.ts'
import { collectAndMeasure, cpuSeconds, heapProbe, rssBytes, steadyRss } from '../../../bench/fan-out/processes.ts'

// One viewer opens 100 sockets that each ask for the whole history and never
// read a byte. Measured in a real server process, after it has collected its
// garbage (heap-probe.mjs, on SIGUSR2), what it holds must grow by a small,
// bounded amount, and its resident set (/proc) too: each replay waits for its
// socket, so each holds at most the output cap and one page, not the history.

const ADMIN_PASSWORD = 'memory-test-admin-password'
const SOCKETS = 100
/** saves, each a post_save and an alert of about 1.3 KB: about 13 MB of history, three times what the kernel takes in per connection */
const SAVES = 5000
/** and the area's own post_save */
const HISTORY = 2 * SAVES + 1
const MAX_BUFFERED = 64 * 1024
const MB = 1024 * 1024
/**
 * What the process holds on to, after a full GC: each stalled socket may hold
 * the output cap plus one page of replay (100 notifications, about 135 KB,
 * its own copy on Redis) and the write requests around them: about 20–40 MB
 * for 100 of them. Writing the whole history at once held 116 MB (in-process
 * layer, whose frames are shared) and 1.8 GB (Redis).
 */
const BOUND = 64 * MB
/**
 * The resident set, after a full GC: it also keeps what the frames that went
 * to the kernel were allocated from (about 3.7 MB per socket passes through
 * on Redis; malloc does not hand all of it back), about 100 MB here. Writing
 * everything at once on Redis took it up by 2 GB.
 */
const RSS_BOUND = 192 * MB

describe.each(BACKENDS)('memory of %s server with 100 replaying sockets that never read', (backend) => {
  let server: ServerProcess
  let pid: number
  let viewerKey: string
  let since: string
  let epoch: string
  let cleanup: () => Promise<void> = async () => {}
  let probeDir: string

  beforeAll(async () => {
    const env: Record<string, string> = {
      ADMIN_PASSWORD,
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      NOTIFICATION_HISTORY: '20000',
      WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
      // nobody is cut off while we measure what they hold
      WS_SLOW_GRACE_MS: '600000',
      WS_PING_INTERVAL_MS: '600000',
      WS_MAX_SOCKETS_PER_SESSION: String(SOCKETS),
      WS_MAX_SOCKETS_PER_USER: String(SOCKETS),
    }
    // makes the server collect its garbage and report process.memoryUsage() on SIGUSR2
    probeDir = await mkdtemp(join(tmpdir(), 'heap-probe-'))
    Object.assign(env, heapProbe(probeDir).env)
    if (backend === 'postgres') {
      const database = await createDatabase()
      env.DATABASE_URL = database.url
      env.REDIS_URL = await freshRedisUrl()
      cleanup = database.drop
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'memory-test-'))
      env.DATA_DIR = dir
      cleanup = () => rm(dir, { recursive: true, force: true })
    }
    server = await launchServer(env)
    await server.following()
    pid = server.child.pid!

    const adminKey = (await signIn(server.url, 'admin', ADMIN_PASSWORD)).key
    for (const [username, role] of [['ops', 'operator'], ['watch', 'viewer']]) {
      const response = await fetch(`${server.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ username, role, password: `${username}-password` }),
      })
      expect(response.status).toBe(201)
    }
    const operatorKey = (await signIn(server.url, 'ops', 'ops-password')).key
    viewerKey = (await signIn(server.url, 'watch', 'watch-password')).key

    // the history, through the real path (save, alert rule, outbox, relay), seen arrive by a reading client
    const reader = await connect(wsUrl(), { authorization: `Bearer ${viewerKey}` })
    ;({ id: since, epoch } = (await reader.waitFor((f) => f.type === 'ready'))[0] as { id: string; epoch: string })
    const area = await fetch(`${server.url}/api/areas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
      body: JSON.stringify({ type: 'Feature', geometry: square(10, 10, 5), properties: { name: 'everywhere we save', severity: 'info' } }),
    })
    expect(area.status).toBe(201)
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < SAVES) {
          const i = next++
          const response = await fetch(`${server.url}/api/incidents`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
            body: JSON.stringify({ name: `incident ${i}`, description: 'd'.repeat(1000), location: { lon: 6 + (i % 80) / 10, lat: 6 + (i % 70) / 10 } }),
          })
          if (response.status !== 201) throw new Error(`save ${i}: ${response.status} ${await response.text()}`)
        }
      }),
    )
    await reader.waitFor(isNotification, HISTORY, 120_000)
    reader.close()
    await reader.closed
  }, 300_000)

  afterAll(async () => {
    if (server) expect(await server.stop(), server.output()).toEqual({ code: 0, signal: null })
    await cleanup()
    if (probeDir) await rm(probeDir, { recursive: true, force: true })
  }, 60_000)

  const wsUrl = (query = '') => `${server.url.replace('http', 'ws')}/ws${query}`

  it(`holds less than ${BOUND / MB} MB more (and its resident set grows by less than ${RSS_BOUND / MB} MB) while ${SOCKETS} sockets of one viewer each ask for all ${HISTORY} notifications and read nothing`, async () => {
    const heapBefore = retained(await collectAndMeasure(pid, probeDir))
    const before = await steadyRss(pid)
    const sockets: StalledSocket[] = []
    try {
      for (let i = 0; i < SOCKETS; i += 10) {
        sockets.push(...(await Promise.all(Array.from({ length: 10 }, () => stall(wsUrl(`?since=${since}&epoch=${epoch}`), { authorization: `Bearer ${viewerKey}` })))))
      }
      // every replay has written what its socket would take (or all of it) and
      // waits: the count of frames written stands still and the server idles
      let sent = -1
      let cpu = cpuSeconds(pid)
      await waitUntil(async () => {
        const [now, cpuNow] = [await framesSent(), cpuSeconds(pid)]
        const still = now === sent && cpuNow - cpu < 0.1
        ;[sent, cpu] = [now, cpuNow]
        return still
      }, { everyMs: 1000, timeoutMs: 60_000, what: () => `the frames written to stand still (${sent} so far)` })
      expect(await metric('tracker_sockets')).toBe(SOCKETS)
      // each really is replaying (not told to reset): it was written as much as its connection would take
      expect(sent / SOCKETS).toBeGreaterThan(500)
      // the peak over two seconds of the sockets held open: a measurement, not a wait
      let peak = 0
      for (let i = 0; i < 10; i++) {
        peak = Math.max(peak, rssBytes(pid))
        await delay(200)
      }
      const heapAfter = retained(await collectAndMeasure(pid, probeDir))
      const after = await steadyRss(pid)
      const summary =
        `RSS ${mb(before)} before; with the sockets open ${mb(peak)} at most, ${mb(after)} after a full GC (+${mb(after - before)}); ` +
        `heap + external after a full GC ${mb(heapBefore)} before, ${mb(heapAfter)} with the sockets open (+${mb(heapAfter - heapBefore)}); ` +
        `${(sent / SOCKETS).toFixed(0)} of ${HISTORY} frames written per socket`
      console.log(`${backend}: ${summary}`)
      expect(heapAfter - heapBefore, summary).toBeLessThan(BOUND)
      expect(after - before, summary).toBeLessThan(RSS_BOUND)
    } finally {
      for (const socket of sockets) socket.destroy()
    }
    await expect.poll(() => metric('tracker_sockets'), { timeout: 10_000 }).toBe(0)
  }, 120_000)

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
  }
  const framesSent = () => metric('tracker_frames_sent_total')
})

/** what the process holds on to, once collected: its JS heap and the memory outside it (Buffers) */
const retained = (usage: NodeJS.MemoryUsage) => usage.heapUsed + usage.external
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`
