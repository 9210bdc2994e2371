import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { WebSocketServer } from 'ws'

// The peers of the idle-socket benchmark: a server that accepts WebSocket
// connections and holds them, doing nothing else. SUBJECT=bare is `ws`
// itself, the floor: no authentication, no per-socket state of its own.
// SUBJECT=socketio is Socket.IO (WebSocket transport only, as ours; its
// default in-memory adapter: every adapter keeps the same per-socket room
// sets). Run as a plain node process (PORT in the environment) so its
// memory can be read from /proc; heap-probe.mjs is preloaded by the bench.

const port = Number(process.env.PORT)
const subject = process.env.SUBJECT
const maxLifetimeMs = Number(process.env.MAX_LIFETIME_MS ?? 3_600_000)

const server = createServer((req, res) => {
  if (req.url === '/health') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  else if (!req.url?.startsWith('/socket.io/')) res.writeHead(404).end()
})

let closeAll: () => void
if (subject === 'bare') {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => ws.terminate()))
  })
  closeAll = () => {
    for (const client of wss.clients) client.terminate()
  }
} else if (subject === 'socketio') {
  const io = new Server(server, { transports: ['websocket'], serveClient: false })
  closeAll = () => void io.close()
} else {
  console.error(`SUBJECT must be bare or socketio (got ${JSON.stringify(subject)})`)
  process.exit(2)
}

function stop() {
  closeAll()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// stops by itself even if the bench that started it is gone
setTimeout(stop, maxLifetimeMs).unref()

server.listen(port, '127.0.0.1', 1024)
