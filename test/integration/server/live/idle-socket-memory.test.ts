import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../../../helpers/postgres.ts'
import { launchServer, type ServerProcess } from '../../../helpers/server-process.ts'
import { signIn } from '../../../helpers/sign-in.ts'
import { connect, type LiveClient } from '../../../helpers/ws-client.ts'
import { collectAndMeasure, heapProbe } from '../../../bench/fan-out/processes.ts'

// What one more idle, authenticated socket costs the server's JS heap, in the
// server as `npm start` runs it, after a full GC: the difference between two
// counts of open sockets, so what the process had before lands in neither. An
// idle socket lives for hours, thousands at a time, so a closure, listener or
// timer kept per socket adds up; the bound leaves room for ws's own objects
// (most of it) and catches such an addition. Once the sockets close, all of it
// must be given back: a socket left in the ping sweep, the fan-out or behind
// a listener would not be.

const ADMIN_PASSWORD = 'idle-memory-admin-password'
const WARM = 100
const MORE = 1000
/** heap per idle socket, generous: ws's own share is most of it */
const PER_SOCKET_BOUND = 4 * 1024
/** what may stay behind per socket once they have closed: hash tables that have not shrunk yet, and the like */
const LEFT_PER_SOCKET_BOUND = 512

describe('heap of idle sockets', () => {
  let server: ServerProcess
  let pid: number
  let key: string
  let probeDir: string
  let drop: () => Promise<void> = async () => {}
  const clients: LiveClient[] = []

  beforeAll(async () => {
    probeDir = await mkdtemp(join(tmpdir(), 'heap-probe-'))
    const database = await createDatabase()
    drop = database.drop
    server = await launchServer({
      DATABASE_URL: database.url,
      ADMIN_PASSWORD,
      WS_MAX_SOCKETS_PER_SESSION: String(WARM + MORE),
      WS_MAX_SOCKETS_PER_USER: String(WARM + MORE),
      ...heapProbe(probeDir).env,
    }, { via: 'npm start' })
    await server.following()
    pid = server.child.pid!
    key = (await signIn(server.url, 'admin', ADMIN_PASSWORD)).key
  }, 180_000)

  afterAll(async () => {
    for (const client of clients) client.socket.terminate()
    if (server) expect(await server.stop(), server.output()).toEqual({ code: 0, signal: null })
    await drop()
    if (probeDir) await rm(probeDir, { recursive: true, force: true })
  }, 60_000)

  /** opens sockets, 50 at a time, until `total` are open, each with its `ready` */
  async function openUntil(total: number) {
    const url = `${server.url.replace('http', 'ws')}/ws`
    while (clients.length < total) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, total - clients.length) }, () => connect(url, { authorization: `Bearer ${key}` })))
      await Promise.all(batch.map((client) => client.waitFor((frame) => frame.type === 'ready')))
      clients.push(...batch)
    }
  }

  /** closes every socket past the first WARM, and waits until the server has let them go */
  async function closeDownTo(count: number) {
    await Promise.all(clients.splice(count).map((client) => (client.close(), client.closed)))
    await expect.poll(() => metric('tracker_sockets'), { timeout: 20_000 }).toBe(count)
  }

  it(`holds less than ${PER_SOCKET_BOUND} bytes of heap per idle socket, and gives it back when they close`, async () => {
    // a first round opens and closes as many: what the process keeps from
    // the first time (compiled code, pools grown) is not per socket
    await openUntil(WARM + MORE)
    await closeDownTo(WARM)
    const before = (await collectAndMeasure(pid, probeDir)).heapUsed
    await openUntil(WARM + MORE)
    const open = (await collectAndMeasure(pid, probeDir)).heapUsed
    await closeDownTo(WARM)
    const after = (await collectAndMeasure(pid, probeDir)).heapUsed

    const perSocket = (open - before) / MORE
    const leftPerSocket = (after - before) / MORE
    const summary = `heap per idle socket ${perSocket.toFixed(0)} B; left per socket once closed ${leftPerSocket.toFixed(0)} B`
    console.log(summary)
    expect(perSocket, summary).toBeLessThan(PER_SOCKET_BOUND)
    expect(leftPerSocket, summary).toBeLessThan(LEFT_PER_SOCKET_BOUND)
  }, 180_000)

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
  }
})
