import { connect as tcpConnect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, point, startTestServer, type TestServer } from '../../helpers/test-server.ts'
import { connect } from '../../helpers/ws-client.ts'

// A client that sends its headers and part of its body, then nothing, must
// not hold a connection forever; a live socket at /ws, idle for longer than
// any of these timeouts, must not be cut by them.

const TIMEOUT_MS = 1000
/** generous: the bound is the timeout plus one sweep of Node's connection check, on a busy machine */
const CUT_WITHIN_MS = 15_000

/** A connection that sends these pieces (each in a packet of its own), then nothing; `sent` once they are written, `closed` with what came back once the server closes it. */
function stalledConnection(base: string, pieces: string[]): { sent: Promise<void>; closed: Promise<string> } {
  const { port } = new URL(base)
  const socket = tcpConnect(Number(port), '127.0.0.1')
  const sent = Promise.all(pieces.map((piece) => new Promise<void>((resolve, reject) => socket.write(piece, (error) => (error ? reject(error) : resolve()))))).then(() => {})
  let answer = ''
  socket.on('data', (chunk) => (answer += chunk.toString()))
  socket.on('error', () => {})
  const closed = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the stalled connection was still open after ${CUT_WITHIN_MS} ms (answer so far: ${JSON.stringify(answer)})`))
    }, CUT_WITHIN_MS)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(answer)
    })
  })
  return { sent, closed }
}

/** A request announcing 1000 bytes of body that sends 10 of them, then stalls. */
const stalledLogin = (base: string) =>
  stalledConnection(base, [
    'POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"usernam',
    'e', // the 10th byte, in a packet of its own
  ])

describe('HTTP timeouts', () => {
  let server: TestServer
  let base: string

  beforeAll(async () => {
    server = await startTestServer('pglite', {
      REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
      // longer, so that the stalled request is cut by the request timeout (408), not as an idle connection
      CONNECTION_TIMEOUT_MS: String(2 * TIMEOUT_MS),
      KEEP_ALIVE_TIMEOUT_MS: String(TIMEOUT_MS),
      // the live socket below must be idle for real: no pings either
      WS_PING_INTERVAL_MS: '600000',
    })
    base = await server.listen()
  })
  afterAll(() => server?.close())

  it('answers a request whose body stalls with 408 and closes it, while other requests are served', async () => {
    const stalled = Array.from({ length: 20 }, () => stalledLogin(base))
    await Promise.all(stalled.map((s) => s.sent))
    const health = await fetch(`${base}/api/health`)
    expect(health.status).toBe(200)
    const answers = await Promise.all(stalled.map((s) => s.closed))
    for (const answer of answers) {
      // Node answers 408 when it can still write; a connection it has to cut mid-answer just closes
      if (answer) expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    }
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408')).length).toBeGreaterThan(0)
    expect((await fetch(`${base}/api/health`)).status).toBe(200)
  })

  it('leaves a live socket open and delivering long after the timeouts have passed', async () => {
    const viewer = await server.user('viewer')
    const operator = await server.user('operator')
    const live = await connect(`${base.replace('http', 'ws')}/ws`, bearer(viewer.key))
    let closed = false
    void live.closed.then(() => (closed = true))

    // connections opened after the socket, each cut by one of the timeouts: a
    // request that stalls (request), one that idles after an answer
    // (keep-alive), one that never says anything (connection). Once all are
    // cut, the socket has been idle for longer than each timeout
    const witnesses = [
      stalledLogin(base),
      stalledConnection(base, ['GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']),
      stalledConnection(base, []),
    ]
    const [, keptAlive] = await Promise.all(witnesses.map((w) => w.closed))
    expect(keptAlive).toMatch(/^HTTP\/1\.1 200 /)
    expect(closed).toBe(false)
    const created = await server.app.inject({
      method: 'POST',
      url: '/api/incidents',
      headers: bearer(operator.key),
      payload: { type: 'Feature', geometry: point(2.35, 48.85), properties: { name: 'after the timeouts' } },
    })
    expect(created.statusCode).toBe(201)
    const [frame] = await live.waitFor((f) => f.type === 'post_save')
    expect(frame).toMatchObject({ type: 'post_save', feature: { properties: { name: 'after the timeouts' } } })
    live.close()
  })
})
