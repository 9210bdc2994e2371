import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Socket } from 'node:net'
import { request } from 'node:http'
import { sql } from 'kysely'
import { BACKENDS, bearer, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { within } from '../../../helpers/wait.ts'
import { connect, type LiveClient } from '../../../helpers/ws-client.ts'
import { notificationJson } from '../../../../server/live/stream.ts'

// What the socket layer does with clients that misbehave or whose session
// ends: each is cut off, nobody else notices, the server goes on.

/** Stops reading from the network: the server's output to this client piles up, and pings go unanswered. */
const stopReading = (client: LiveClient) => (client.socket as unknown as { _socket: Socket })._socket.pause()

describe.each(BACKENDS)('socket limits on %s', (backend) => {
  let server: TestServer
  let url: string
  let operator: TestUser
  let viewer: TestUser

  beforeAll(async () => {
    server = await startTestServer(backend, {
      WS_MAX_BUFFERED_BYTES: '65536',
      WS_SLOW_GRACE_MS: '1500',
      WS_PING_INTERVAL_MS: '5000',
      SESSION_CHECK_MS: '200',
    })
    url = (await server.listen()).replace('http', 'ws') + '/ws'
    operator = await server.user('operator')
    viewer = await server.user('viewer')
  })
  afterAll(() => server?.close())

  it('cuts off a client that stops reading while a reading one keeps receiving', async () => {
    const fast = await connect(url, bearer(viewer.key))
    const slow = await connect(url, bearer(viewer.key))
    stopReading(slow)
    // big frames, so the kernel's socket buffers fill and the server's own queue grows past the cap
    const feature = (await server.app.incidents.create({ name: 'big', description: 'x'.repeat(1000), geometry: { type: 'Point', coordinates: [0, 0] } }, operator.id))
    const padding = { ...feature, properties: { ...feature.properties, description: 'y'.repeat(60_000) } }
    for (let i = 0; i < 300; i++) await server.app.stream.publish([{ event: 1_000_000 + i, body: notificationJson({ type: 'post_save', created: false, feature: padding }) }])
    await fast.waitFor((f) => f.type === 'post_save' && f.event >= 1_000_000, 300, 30_000)
    await expect.poll(() => server.app.fanOut.stats.droppedSlow, { timeout: 10_000 }).toBe(1)
    // once it reads again, it finds the connection gone
    ;(slow.socket as unknown as { _socket: Socket })._socket.resume()
    await within(slow.closed, 'the slow client to find its connection closed')
    expect(fast.socket.readyState).toBe(fast.socket.OPEN)
    fast.close()
  })

  it('drops a socket that stops answering pings, and it leaves the group', async () => {
    const silent = await connect(url, bearer(viewer.key))
    const before = server.app.fanOut.members.size
    stopReading(silent)
    await expect.poll(() => server.app.fanOut.members.size, { timeout: 15_000 }).toBe(before - 1)
    silent.socket.terminate()
  })

  it('closes the sockets of a session that expires, with 1008, at a session check', async () => {
    const user = await server.user('viewer')
    const client = await connect(url, bearer(user.key))
    await server.app.db.updateTable('sessions').set({ absolute_expires: sql<Date>`now()` } as never).where('user_id', '=', user.id).execute()
    expect(await within(client.closed, 'the expired session\'s socket to close')).toMatchObject({ code: 1008 })
  })

  it('closes the sockets of a user an admin deletes', async () => {
    const admin = await server.admin()
    const user = await server.user('viewer')
    const client = await connect(url, bearer(user.key))
    const response = await server.app.inject({ method: 'DELETE', url: `/api/users/${user.id}`, headers: bearer(admin.key) })
    expect(response.statusCode).toBe(204)
    expect(await within(client.closed, 'the deleted user\'s socket to close')).toMatchObject({ code: 1008 })
  })

  it('answers a malformed since with 400 naming it, before any upgrade', async () => {
    const { status, body } = await upgradeRequest(url.replace('ws', 'http') + '?since=yesterday', bearer(viewer.key))
    expect(status).toBe(400)
    expect(JSON.parse(body).detail).toContain('yesterday')
  })

  it('never logs a session key', () => {
    const logs = server.logs.join('')
    for (const key of [operator.key, viewer.key]) expect(logs).not.toContain(key)
  })
})

describe('graceful shutdown', () => {
  it('closes live sockets with 1001 and finishes relaying', async () => {
    const server = await startTestServer('pglite')
    const url = (await server.listen()).replace('http', 'ws') + '/ws'
    const viewer = await server.user('viewer')
    const client = await connect(url, bearer(viewer.key))
    await server.app.incidents.create({ name: 'last words', geometry: { type: 'Point', coordinates: [0, 0] } }, viewer.id)
    const closing = server.app.close()
    expect((await client.closed).code).toBe(1001)
    await closing
    // the outbox row written by that save was published before the instance went away
    expect(server.app.relay.stats.published).toBe(1)
    await server.close().catch(() => {}) // drops the data folder; the app is already closed
  })
})

/** A WebSocket upgrade request whose refusal we want to read as plain HTTP. */
function upgradeRequest(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    })
    req.on('response', (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.on('error', reject)
    })
    req.on('upgrade', () => reject(new Error('the upgrade was accepted')))
    req.on('error', reject)
    req.end()
  })
}
