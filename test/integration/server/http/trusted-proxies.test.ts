import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attemptSignIn } from '../../../helpers/sign-in.ts'
import { startTestServer, type TestServer } from '../../../helpers/test-server.ts'
import { refusedStatus } from '../../../helpers/ws-client.ts'

// Only the configured proxy may say who the client is (X-Forwarded-For) and
// how it connected (X-Forwarded-Proto). The proxy here is 127.0.0.2: a
// request "through the proxy" comes from that address, any other is a
// client that connected directly.

const PROXY = '127.0.0.2'
const ADDRESS_LIMIT = 3

describe('a trusted reverse proxy', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer('pglite', { TRUST_PROXY: PROXY, LOGIN_RATE_LIMIT_PER_MINUTE: String(ADDRESS_LIMIT) })
  })
  afterAll(() => server?.close())

  /** The client address the server settled on for this request, as its request log says. */
  async function addressSeen(remoteAddress: string, forwardedFor?: string): Promise<string> {
    const probe = randomBytes(4).toString('hex')
    const headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}
    const response = await server.app.inject({ method: 'GET', url: `/api/health?probe=${probe}`, headers, remoteAddress })
    expect(response.statusCode).toBe(200)
    const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.req?.url === `/api/health?probe=${probe}`)
    return line.req.remoteAddress
  }

  /** Sign-in attempts with a wrong password, each for a different username (only the address limit applies). */
  async function attempts(count: number, from: (i: number) => { remoteAddress: string; forwardedFor?: string }): Promise<number[]> {
    const statuses: number[] = []
    for (let i = 0; i < count; i++) {
      const { remoteAddress, forwardedFor } = from(i)
      const response = await attemptSignIn(server.app, `nobody-${randomBytes(4).toString('hex')}`, 'wrong-password', {
        headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
        remoteAddress,
      })
      statuses.push(response.status)
    }
    return statuses
  }

  it('ignores X-Forwarded-For from a client that connected directly', async () => {
    expect(await addressSeen('203.0.113.5', '1.2.3.4')).toBe('203.0.113.5')
    expect(await addressSeen('203.0.113.5', `1.2.3.4, ${PROXY}`)).toBe('203.0.113.5')
  })

  it('takes the address the proxy added, not what the client wrote in front of it', async () => {
    expect(await addressSeen(PROXY, '198.51.100.7')).toBe('198.51.100.7')
    expect(await addressSeen(PROXY, '1.2.3.4, 198.51.100.7')).toBe('198.51.100.7')
    expect(await addressSeen(PROXY)).toBe(PROXY)
  })

  it('limits a direct client that rotates spoofed X-Forwarded-For values by its real address', async () => {
    const statuses = await attempts(ADDRESS_LIMIT + 1, (i) => ({ remoteAddress: '203.0.113.9', forwardedFor: `1.2.3.${i}` }))
    expect(statuses).toEqual([...Array(ADDRESS_LIMIT).fill(401), 429])
  })

  it('limits a client behind the proxy that rotates its own X-Forwarded-For by the address the proxy added', async () => {
    const statuses = await attempts(ADDRESS_LIMIT + 1, (i) => ({ remoteAddress: PROXY, forwardedFor: `1.2.3.${i}, 198.51.100.9` }))
    expect(statuses).toEqual([...Array(ADDRESS_LIMIT).fill(401), 429])
    // the limit is that client's, not the proxy's: its neighbour is not affected
    expect(await attempts(1, () => ({ remoteAddress: PROXY, forwardedFor: '198.51.100.10' }))).toEqual([401])
  })

  it('believes X-Forwarded-Proto only from the proxy (the socket origin check compares it)', async () => {
    const viewer = await server.user('viewer')
    const base = await server.listen()
    const { host } = new URL(base)
    const headers = { cookie: `session=${viewer.key}`, origin: `https://${host}`, 'x-forwarded-proto': 'https' }
    // a direct client claiming https is still on http: its https origin is foreign
    expect(await refusedStatus(`ws://${host}/ws`, headers)).toBe(403)
    // through the proxy, which terminated TLS, the same request is same-origin
    expect(await upgradeStatus(`ws://${host}/ws`, headers, PROXY)).toBe(101)
  })
})

/** The status of an upgrade made from `localAddress` (on loopback, any 127.x address is ours to connect from). */
function upgradeStatus(url: string, headers: Record<string, string>, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, localAddress })
    socket.on('open', () => {
      socket.close()
      resolve(101)
    })
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? -1)
      socket.terminate()
    })
    socket.on('error', reject)
  })
}
