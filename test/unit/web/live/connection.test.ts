import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket as NodeWebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws'
import { CLOSE_CODES, type Notification, type ServerFrame } from '../../../../contracts/live.ts'
import { LiveConnection, OFFLINE_AFTER_FAILURES, reconnectDelay, type ConnectionState } from '../../../../web/src/live/connection.ts'

// The dashboard's live socket against a real WebSocket server on loopback:
// what it asks for when it comes back, and what it tells the page.

/** One socket the server accepted: the query it came with, and the socket to answer on. */
interface Arrival {
  since: string | null
  epoch: string | null
  socket: ServerSocket
}

/** The browser's online/offline events, switched by the test. */
/** Waits for a condition with the suite's patience: reconnects wait out a backoff, and a busy machine is slow. */
const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 20 })

/**
 * ws's WebSocket as lenient as a browser's: closing one that is still
 * connecting reports an error event rather than throwing at the process.
 */
class BrowserLikeWebSocket extends NodeWebSocket {
  constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
    super(...args)
    this.on('error', () => {})
  }
}

class TestNetwork extends EventTarget {
  onLine = true
  go(onLine: boolean) {
    this.onLine = onLine
    this.dispatchEvent(new Event(onLine ? 'online' : 'offline'))
  }
}

const send = (socket: ServerSocket, frame: ServerFrame) => socket.send(JSON.stringify(frame))

const saved = (event: number): Notification => ({
  id: `${event}-0`, event, type: 'post_save', created: true,
  feature: {
    type: 'Feature', id: `incident:${event}`, geometry: { type: 'Point', coordinates: [0, 0] },
    properties: {
      kind: 'incident', id: event, name: `incident ${event}`, description: '', severity: 'high', closed: false,
      created: '2026-11-23T00:00:00.000Z', updated: '2026-11-23T00:00:00.000Z', reporter: 'op', updated_by: 'op', version: 1, url: `/api/incidents/${event}`,
    },
  },
})

let server: WebSocketServer
let arrivals: Arrival[]
let network: TestNetwork
let connection: LiveConnection | undefined
const notifications: Notification[] = []
const states: ConnectionState[] = []
let resets = 0
let signedOut = 0

beforeEach(async () => {
  arrivals = []
  notifications.length = 0
  states.length = 0
  resets = 0
  signedOut = 0
  network = new TestNetwork()
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  server.on('connection', (socket, request) => {
    const query = new URL(request.url!, 'http://localhost').searchParams
    arrivals.push({ since: query.get('since'), epoch: query.get('epoch'), socket })
  })
  await new Promise((resolve) => server.once('listening', resolve))
})

afterEach(async () => {
  connection?.stop()
  connection = undefined
  for (const client of server.clients) client.terminate()
  await new Promise((resolve) => server.close(resolve))
})

function connect(): LiveConnection {
  const { port } = server.address() as { port: number }
  connection = new LiveConnection(
    {
      notification: (n) => notifications.push(n),
      reset: () => resets++,
      state: (state) => states.push(state),
      signedOut: () => signedOut++,
    },
    { url: new URL(`ws://127.0.0.1:${port}/ws`), WebSocket: BrowserLikeWebSocket as unknown as typeof WebSocket, network },
  )
  connection.start()
  return connection
}

/** Waits until the server has accepted `count` sockets, and returns the last. */
async function arrival(count: number): Promise<Arrival> {
  await until(() => expect(arrivals).toHaveLength(count))
  return arrivals[count - 1]!
}

describe('LiveConnection', () => {
  it('first connects with nothing to resume from, says it is connected, and passes on each notification', async () => {
    connect()
    const first = await arrival(1)
    expect(first).toMatchObject({ since: null, epoch: null })
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    send(first.socket, saved(2))
    await until(() => expect(notifications.map((n) => n.id)).toEqual(['2-0']))
    expect(states).toEqual(['connected'])
    expect(resets).toBe(0)
  })

  it('settles firstAttempt once the socket is subscribed', async () => {
    const live = connect()
    let settled = false
    void live.firstAttempt.then(() => (settled = true))
    const first = await arrival(1)
    // open, but not subscribed yet: not connected either
    await until(() => expect(first.socket.readyState).toBe(first.socket.OPEN))
    expect(settled).toBe(false)
    expect(states).toEqual([])
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    await live.firstAttempt
    await until(() => expect(states).toEqual(['connected']))
  })

  it('after a drop, reconnects with the last id it saw and the epoch that id belongs to', async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    send(first.socket, saved(2))
    send(first.socket, saved(3))
    await until(() => expect(notifications).toHaveLength(2))
    first.socket.terminate()

    const second = await arrival(2)
    expect(second).toMatchObject({ since: '3-0', epoch: 'e1' })
    expect(states).toEqual(['connected', 'reconnecting'])
    // connected once caught up: the replay ends with `ready`
    send(second.socket, { type: 'ready', id: '3-0', epoch: 'e1' })
    await until(() => expect(states).toEqual(['connected', 'reconnecting', 'connected']))
    expect(resets).toBe(0)
  })

  it('resumes from the ready frame\'s position when no notification came before the drop', async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '7-0', epoch: 'e1' })
    await connection!.firstAttempt
    first.socket.close(1012) // the server's history restarted: reconnect the same way

    expect(await arrival(2)).toMatchObject({ since: '7-0', epoch: 'e1' })
  })

  it('on reset, asks the page to reload once, and then resumes from the position and epoch of the ready that follows', async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '3-0', epoch: 'e1' })
    await connection!.firstAttempt
    first.socket.terminate()

    // the history no longer reaches back to 3-0: reset, then the socket is live at the new history's position
    const second = await arrival(2)
    expect(second).toMatchObject({ since: '3-0', epoch: 'e1' })
    send(second.socket, { type: 'reset' })
    send(second.socket, { type: 'ready', id: '9-0', epoch: 'e2' })
    send(second.socket, saved(10))
    await until(() => expect(notifications.map((n) => n.id)).toEqual(['10-0']))
    expect(resets).toBe(1)
    second.socket.terminate()

    expect(await arrival(3)).toMatchObject({ since: '10-0', epoch: 'e2' })
    expect(resets).toBe(1)
  })

  it('asks for a reload when the first subscription comes only after the page has read without one', async () => {
    const live = connect()
    // the first socket fails before it is subscribed: the page reads without one
    ;(await arrival(1)).socket.terminate()
    await live.firstAttempt
    const second = await arrival(2)
    expect(second).toMatchObject({ since: null, epoch: null })
    send(second.socket, { type: 'ready', id: '4-0', epoch: 'e1' })
    await until(() => expect(resets).toBe(1))
  })

  it(`closed with ${CLOSE_CODES.SESSION_ENDED} (the session ended): reports signed out and does not reconnect`, async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    first.socket.close(CLOSE_CODES.SESSION_ENDED, 'session ended')
    await until(() => expect(signedOut).toBe(1))
    // a reconnect would have said `reconnecting` in the same close handler
    expect(states).toEqual(['connected'])
  })

  it('offline: says so, drops the socket without retrying, and reconnects with since and epoch when back online', async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    send(first.socket, saved(2))
    await until(() => expect(notifications).toHaveLength(1))
    const closed = new Promise((resolve) => first.socket.once('close', resolve))

    network.go(false)
    expect(states.at(-1)).toBe('offline')
    await closed // the client closed it
    expect(states).toEqual(['connected', 'offline'])
    expect(arrivals).toHaveLength(1)

    network.go(true)
    const second = await arrival(2)
    expect(second).toMatchObject({ since: '2-0', epoch: 'e1' })
    send(second.socket, { type: 'ready', id: '2-0', epoch: 'e1' })
    await until(() => expect(states).toEqual(['connected', 'offline', 'reconnecting', 'connected']))
  })

  it('a drop while the network is down waits for it to come back instead of retrying', async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    await connection!.firstAttempt
    network.onLine = false // down, but no `offline` event yet
    first.socket.terminate()
    await until(() => expect(states).toEqual(['connected', 'offline']))

    network.go(true)
    expect(await arrival(2)).toMatchObject({ since: '1-0', epoch: 'e1' })
  })

  it(`says offline after ${OFFLINE_AFTER_FAILURES} failed attempts in a row, keeps trying, and is connected again once subscribed`, async () => {
    connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    await until(() => expect(states).toEqual(['connected']))
    first.socket.terminate()
    // the server accepts and drops each socket before it is subscribed (a proxy in trouble): each counts as failed
    for (let n = 2; n <= OFFLINE_AFTER_FAILURES + 1; n++) (await arrival(n)).socket.terminate()
    await until(() => expect(states).toEqual(['connected', 'reconnecting', ...Array(OFFLINE_AFTER_FAILURES - 1).fill('reconnecting'), 'offline']))
    // and still tries
    const back = await arrival(OFFLINE_AFTER_FAILURES + 2)
    expect(back).toMatchObject({ since: '1-0', epoch: 'e1' })
    send(back.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    await until(() => expect(states.at(-1)).toBe('connected'))
  }, 30_000)

  it('stop closes the socket and does not reconnect', async () => {
    const live = connect()
    const first = await arrival(1)
    send(first.socket, { type: 'ready', id: '1-0', epoch: 'e1' })
    await live.firstAttempt
    const closed = new Promise((resolve) => first.socket.once('close', resolve))
    live.stop()
    await closed
    network.go(true) // an `online` after stop opens nothing either
    expect(states).toEqual(['connected'])
    expect(arrivals).toHaveLength(1)
  })
})

describe('reconnectDelay', () => {
  it('starts near half a second and doubles', () => {
    expect(reconnectDelay(0, 0.5)).toBe(500)
    expect(reconnectDelay(1, 0.5)).toBe(1000)
    expect(reconnectDelay(2, 0.5)).toBe(2000)
  })

  it('stays within 10 s ± 25 % jitter however many attempts fail', () => {
    for (let attempt = 0; attempt < 64; attempt++) {
      for (const random of [0, 0.5, 0.999999]) {
        const delay = reconnectDelay(attempt, random)
        expect(delay).toBeGreaterThanOrEqual(375)
        expect(delay).toBeLessThanOrEqual(12_500)
      }
    }
    expect(reconnectDelay(1000, 0.5)).toBe(10_000)
  })

  it('spreads clients over ±25 % so a restarted server is not hit by everyone at once', () => {
    expect(reconnectDelay(3, 0)).toBe(3000)
    expect(reconnectDelay(3, 1)).toBe(5000)
  })
})
