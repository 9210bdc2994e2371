import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'

// The floor: the strongest plain-`ws` version of our server's fan-out
// technique (server/live/fan-out.ts), without what ours does besides
// (authentication, PostGIS, outbox, Redis). A POST's body is taken as one
// notification frame, already serialized, and answered at once. Notifications
// that arrive while a fan-out is under way queue up and go out together as the
// next batch, as ours queues what one Redis read brings. Where ours has `ws`
// frame each notification for each socket and corks the socket around the
// batch, this frames the whole batch once (one WebSocket text frame per
// notification, as ours sends, concatenated into one Buffer) and writes that
// same Buffer to every socket: one write per socket per batch, no per-socket
// encoding or framing at all. Like ours, it yields to the event loop between
// slices of sockets, so POSTs keep being read (and answered) during a long
// fan-out and join the next batch.
// Run as its own process (PORT in the environment) so its memory and CPU can
// be read from /proc like our server's.

const port = Number(process.env.PORT)
const maxLifetimeMs = Number(process.env.MAX_LIFETIME_MS ?? 3_600_000)
/** the same slice as ours (SLICE_MS in server/live/fan-out.ts) */
const SLICE_MS = 8

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
/** open sockets' TCP sockets, written to directly: ws's own sender would frame per socket */
const sockets = new Set<Socket>()

let queue: Buffer[] = []
let draining = false

/**
 * One Buffer holding an unmasked, final text frame per notification (RFC 6455
 * section 5.2, the bytes ws itself writes for a server's text message): what
 * every socket is written.
 */
function frameBatch(batch: readonly Buffer[]): Buffer {
  let total = 0
  for (const payload of batch) total += headerLength(payload.length) + payload.length
  const bytes = Buffer.allocUnsafe(total)
  let offset = 0
  for (const payload of batch) {
    const length = payload.length
    bytes[offset] = 0x81 // FIN + text
    if (length < 126) {
      bytes[offset + 1] = length
    } else if (length < 65_536) {
      bytes[offset + 1] = 126
      bytes.writeUInt16BE(length, offset + 2)
    } else {
      bytes[offset + 1] = 127
      bytes.writeBigUInt64BE(BigInt(length), offset + 2)
    }
    offset += headerLength(length)
    offset += payload.copy(bytes, offset)
  }
  return bytes
}

const headerLength = (length: number) => (length < 126 ? 2 : length < 65_536 ? 4 : 10)

async function drain(): Promise<void> {
  try {
    while (queue.length > 0) {
      const bytes = frameBatch(queue)
      queue = []
      const members = [...sockets]
      let sliceStart = performance.now()
      for (let i = 0; i < members.length; i++) {
        const socket = members[i]!
        if (socket.writable) socket.write(bytes)
        if ((i & 63) === 63 && performance.now() - sliceStart > SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          sliceStart = performance.now()
        }
      }
    }
  } finally {
    draining = false
  }
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/broadcast') {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      queue.push(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
      res.writeHead(204).end()
      if (!draining) {
        draining = true
        // the next turn of the loop: whatever else was read in this one joins the batch
        setImmediate(() => void drain())
      }
    })
  } else if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  } else {
    res.writeHead(404).end()
  }
})

server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    // `_socket` is ws's (undocumented but long-stable) net.Socket, as ours uses it to cork
    const raw = (ws as unknown as { _socket: Socket })._socket
    sockets.add(raw)
    ws.on('close', () => sockets.delete(raw))
    ws.on('error', () => ws.terminate())
  })
})

function stop() {
  for (const client of wss.clients) if (client.readyState !== WebSocket.CLOSED) client.terminate()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// stops by itself even if the bench that started it is gone
setTimeout(stop, maxLifetimeMs).unref()

server.listen(port, '127.0.0.1', 1024)
