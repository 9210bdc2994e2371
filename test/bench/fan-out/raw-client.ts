import { connect, type Socket } from 'node:net'
import { upgradeRequestText } from '../../helpers/stalled-socket.ts'

// A deliberately minimal WebSocket client for the swarm. The swarm shares two
// cores with the server it measures, so every microsecond it spends per frame
// is taken from the server; the `ws` package's receiver (a Writable stream, a
// Buffer and an event per message) costs more than the frames need here.
//
// It speaks just enough RFC 6455 for what the three servers send: small
// unfragmented text frames, pings and close. No extensions are offered, so no
// server may compress. Frames it sends (pongs, Engine.IO's "40" and "3") are
// masked with a zero key: legal, and their content is no secret.

export interface RawSocket {
  readonly open: boolean
  sendText(text: string): void
  terminate(): void
}

export interface RawSocketHandlers {
  /**
   * One text or binary message: its bytes are `data[start..end)`, valid only
   * during the call. May come before the promise resolves (a server can send
   * right behind its 101), hence the socket as an argument.
   */
  message(data: Buffer, start: number, end: number, socket: RawSocket): void
  close(): void
}

const OP_TEXT = 0x1
const OP_BINARY = 0x2
const OP_CLOSE = 0x8
const OP_PING = 0x9

/** Opens `ws://host:port/path`; rejects with the HTTP status if the upgrade is refused. */
export function openRawSocket(url: string, headers: Record<string, string>, handlers: RawSocketHandlers, timeoutMs = 30_000): Promise<RawSocket> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    // `onread` hands each read straight to us in one shared buffer: no stream
    // machinery and no allocation per read (the handler copies what it keeps)
    const socket = connect({ host: hostname, port: Number(port), noDelay: true, onread: { buffer: READ_BUFFER, callback: (n) => (onData(READ_BUFFER.subarray(0, n)), true) } })
    let open = false
    let handshaking = true
    let pending: Buffer | null = null
    const timer = setTimeout(() => fail(new Error(`no upgrade within ${timeoutMs} ms`)), timeoutMs)

    const raw: RawSocket = {
      get open() {
        return open
      },
      sendText: (text) => send(socket, OP_TEXT, Buffer.from(text)),
      terminate: () => socket.destroy(),
    }

    function fail(error: Error) {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    }

    socket.on('error', (error) => handshaking && fail(error))
    socket.on('close', () => {
      if (handshaking) return fail(new Error('closed during the upgrade'))
      open = false
      handlers.close()
    })

    socket.on('connect', () => {
      socket.write(upgradeRequestText(url, headers))
    })

    function onData(chunk: Buffer) {
      let data = pending ? Buffer.concat([pending, chunk]) : chunk
      pending = null
      if (handshaking) {
        const end = data.indexOf('\r\n\r\n')
        if (end < 0) {
          pending = Buffer.from(data)
          return
        }
        const status = /^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1', 0, end))?.[1]
        if (status !== '101') return fail(new Error(`upgrade refused with ${status}`))
        handshaking = false
        open = true
        clearTimeout(timer)
        resolve(raw)
        data = data.subarray(end + 4)
      }
      // every complete frame in the chunk; a partial one waits for the next chunk
      let offset = 0
      while (data.length - offset >= 2) {
        const opcode = data[offset]! & 0x0f
        let length = data[offset + 1]! & 0x7f
        let header = 2
        if (length === 126) {
          if (data.length - offset < 4) break
          length = data.readUInt16BE(offset + 2)
          header = 4
        } else if (length === 127) {
          if (data.length - offset < 10) break
          length = Number(data.readBigUInt64BE(offset + 2))
          header = 10
        }
        if (data.length - offset < header + length) break
        const start = offset + header
        const end = start + length
        if (opcode === OP_TEXT || opcode === OP_BINARY) handlers.message(data, start, end, raw)
        else if (opcode === OP_PING) send(socket, 0xa, data.subarray(start, end)) // pong with the same payload
        else if (opcode === OP_CLOSE) socket.end()
        offset = end
      }
      if (offset < data.length) pending = Buffer.from(data.subarray(offset)) // a copy: the read buffer is reused
    }
  })
}

const READ_BUFFER = Buffer.alloc(256 * 1024)

/** One final, masked frame (clients must mask; a zero key leaves the payload as it is). */
function send(socket: Socket, opcode: number, payload: Buffer) {
  if (payload.length > 125) throw new Error('the swarm only sends short control and Engine.IO frames')
  const header = Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0])
  socket.write(payload.length ? Buffer.concat([header, payload]) : header)
}
