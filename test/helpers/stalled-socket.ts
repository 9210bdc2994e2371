import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

// A client that asks for a socket and then never reads: it does the WebSocket
// upgrade over plain TCP and pauses as soon as the 101 is in. From then on
// the kernel's buffers fill and the server's output to it piles up, and it
// answers no ping; what the server does with that is what the tests look at.

export interface StalledSocket {
  socket: Socket
  /** resolves when the server has closed the connection (seen once this client reads again: `resume`) */
  closed: Promise<void>
  resume(): void
  destroy(): void
}

/** The HTTP/1.1 request that asks for a WebSocket at `url` (ws://…), as raw text for a TCP socket. */
export function upgradeRequestText(url: string, headers: Record<string, string> = {}): string {
  const { hostname, port, pathname, search } = new URL(url)
  const lines = [
    `GET ${pathname}${search} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ]
  return `${lines.join('\r\n')}\r\n\r\n`
}

export type UpgradeAnswer = { status: 101; stalled: StalledSocket } | { status: 'refused'; code: number; body: string }

/** Asks for `url` (ws://…) with these headers; a 101 leaves the socket paused, any other answer (its `code`) is read whole. */
export function upgradeAndStall(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    const closed = new Promise<void>((done) => socket.once('close', () => done()))
    let head = Buffer.alloc(0)
    let status = 0
    let upgraded = false
    socket.on('error', (error) => {
      if (!upgraded && !status) reject(error)
    })
    socket.on('connect', () => {
      socket.write(upgradeRequestText(url, headers))
    })
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      if (!status) {
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1', 0, end))?.[1] ?? -1)
        if (status === 101) {
          upgraded = true
          socket.off('data', onData)
          socket.pause()
          // from here on, what arrives is dropped unread once this client reads again
          socket.on('data', () => {})
          resolve({
            status: 101,
            stalled: { socket, closed, resume: () => socket.resume(), destroy: () => socket.destroy() },
          })
        }
      }
    }
    socket.on('data', onData)
    socket.on('close', () => {
      if (upgraded) return
      if (!status) return reject(new Error('closed before answering the upgrade'))
      const text = head.toString('utf8')
      resolve({ status: 'refused', code: status, body: text.slice(text.indexOf('\r\n\r\n') + 4) })
    })
  })
}

/** A stalled socket, or an error naming the status and body the upgrade was refused with. */
export async function stall(url: string, headers: Record<string, string> = {}): Promise<StalledSocket> {
  const answer = await upgradeAndStall(url, headers)
  if (answer.status === 101) return answer.stalled
  throw new Error(`upgrade refused with ${answer.code}: ${answer.body}`)
}
