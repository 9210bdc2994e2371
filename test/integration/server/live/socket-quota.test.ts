import { Agent, request } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, bearer, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { freshRedisUrl } from '../../../helpers/redis.ts'
import { waitUntil } from '../../../helpers/wait.ts'
import { connect, type LiveClient } from '../../../helpers/ws-client.ts'
import { upgradeAndStall, type UpgradeAnswer } from '../../../helpers/stalled-socket.ts'

// Open sockets are capped per session and per user on an instance; the next
// upgrade is refused with 429 and a problem body naming the cap, before
// anything is accepted. A socket that closes gives its place back, and a
// refused or failed upgrade never takes one.

const PER_SESSION = 3
const PER_USER = 5

describe.each(BACKENDS)('socket caps on %s', (backend) => {
  let server: TestServer
  let url: string
  let open: LiveClient[] = []

  beforeAll(async () => {
    const env: Record<string, string> = { WS_MAX_SOCKETS_PER_SESSION: String(PER_SESSION), WS_MAX_SOCKETS_PER_USER: String(PER_USER) }
    if (backend === 'postgres') env.REDIS_URL = await freshRedisUrl()
    server = await startTestServer(backend, env)
    url = (await server.listen()).replace('http', 'ws') + '/ws'
  })
  afterAll(() => server?.close())
  afterEach(async () => {
    for (const client of open) client.socket.terminate()
    open = []
    await expect.poll(() => server.app.fanOut.members.size).toBe(0)
  })

  const socket = async (key: string) => {
    const client = await connect(url, bearer(key))
    open.push(client)
    return client
  }
  const refusal = async (key: string) => {
    const answer = await upgradeAndStall(url, bearer(key))
    if (answer.status === 101) {
      answer.stalled.destroy()
      throw new Error('the upgrade was accepted')
    }
    return { status: answer.code, problem: JSON.parse(answer.body) as { status: number; detail: string } }
  }
  /** a socket of this session, once the server has taken back the place of one that closed (it learns of the close a moment after the client) */
  const socketOnceFreed = async (key: string) => {
    let client: LiveClient | undefined
    await waitUntil(async () => {
      try {
        client = await socket(key)
        return true
      } catch (error) {
        if ((error as { status?: number }).status !== 429) throw error
        return false
      }
    }, { what: 'the server to give a place back (upgrades refused with 429 until then)' })
    return client!
  }

  it(`refuses the socket after ${PER_SESSION} of one session with 429 naming the cap, and takes one again once one closes`, async () => {
    const viewer = await server.user('viewer')
    const first = await socket(viewer.key)
    for (let i = 1; i < PER_SESSION; i++) await socket(viewer.key)

    const { status, problem } = await refusal(viewer.key)
    expect(status).toBe(429)
    expect(problem.status).toBe(429)
    expect(problem.detail).toContain('this session')
    expect(problem.detail).toContain(`${PER_SESSION} open`)
    // refusals take no place: however many there were, one close frees one
    for (let i = 0; i < 5; i++) expect((await refusal(viewer.key)).status).toBe(429)

    first.close()
    await first.closed
    const again = await socketOnceFreed(viewer.key)
    expect((await again.waitFor((f) => f.type === 'ready')).length).toBe(1)
    expect((await refusal(viewer.key)).status).toBe(429)
  })

  it(`refuses the socket after ${PER_USER} of one user across sessions, and leaves other users alone`, async () => {
    const viewer = await server.user('viewer')
    const second = await server.login(viewer.username, viewer.password)
    const third = await server.login(viewer.username, viewer.password)
    for (let i = 0; i < PER_SESSION; i++) await socket(viewer.key)
    for (let i = 0; i < PER_USER - PER_SESSION; i++) await socket(second)

    // the third session has none open, but the user has the most allowed
    const { status, problem } = await refusal(third)
    expect(status).toBe(429)
    expect(problem.detail).toContain(viewer.username)
    expect(problem.detail).toContain(`${PER_USER} open`)
    expect(problem.detail).toContain('per user')
    const other = await server.user('viewer')
    await socket(other.key)

    open[0]!.close()
    await open[0]!.closed
    await socketOnceFreed(third)
  })

  it('lets exactly the cap through when many upgrades of one session race', async () => {
    const viewer = await server.user('viewer')
    const answers = await Promise.all(Array.from({ length: 12 }, () => upgradeAndStall(url, bearer(viewer.key))))
    const accepted = answers.filter((a): a is Extract<UpgradeAnswer, { status: 101 }> => a.status === 101)
    const refused = answers.filter((a) => a.status !== 101)
    for (const a of accepted) a.stalled.destroy()
    expect(accepted).toHaveLength(PER_SESSION)
    expect(refused.map((a) => (a.status === 'refused' ? a.code : a.status))).toEqual(Array(12 - PER_SESSION).fill(429))
    await expect.poll(() => server.app.fanOut.members.size).toBe(0)
  })

  it('gives back the place of an upgrade that failed after it was counted', async () => {
    const viewer = await server.user('viewer')
    // the route counts it, then the WebSocket handshake itself fails (ws answers 400)
    for (let i = 0; i < PER_SESSION + 2; i++) {
      const answer = await upgradeAndStall(url, { ...bearer(viewer.key), 'Sec-WebSocket-Version': '8' })
      expect(answer.status === 'refused' && answer.code).toBe(400)
    }
    for (let i = 0; i < PER_SESSION; i++) await socketOnceFreed(viewer.key)
  })

  it('takes no place for a plain GET or HEAD of /ws on a kept-alive connection', async () => {
    const viewer = await server.user('viewer')
    const http = url.replace('ws', 'http')
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      for (let i = 0; i < PER_SESSION + 2; i++) {
        for (const method of ['GET', 'HEAD']) {
          const status = await new Promise<number>((resolve, reject) => {
            request(http, { agent, method, headers: bearer(viewer.key) }, (response) => {
              response.resume()
              response.on('end', () => resolve(response.statusCode!))
            }).on('error', reject).end()
          })
          expect(status).toBeGreaterThanOrEqual(400)
        }
      }
      // the connection those used is still open, and the session still has all its places
      for (let i = 0; i < PER_SESSION; i++) await socket(viewer.key)
    } finally {
      agent.destroy()
    }
  })
})
