import { createServer } from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'

// Bare `ws`, naive: what a first version of a fan-out looks like. No
// authentication, no database, no Redis: a POST's body is taken as the frame,
// already serialized, and the same bytes are sent to every open socket, one
// ws send per socket per notification, before the POST is answered (so
// notifications never queue up into a batch). It is not the floor: that is
// batched-server.ts, ours' technique at its strongest. The idle-socket
// benchmark uses this one as plain `ws` holding sockets.
// Run as its own process (PORT in the environment) so its memory and CPU can
// be read from /proc like our server's.

const port = Number(process.env.PORT)
const maxLifetimeMs = Number(process.env.MAX_LIFETIME_MS ?? 3_600_000)

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/broadcast') {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      // one Buffer for everyone, sent as a text frame: ws frames it without copying or re-encoding
      const frame = Buffer.concat(chunks)
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(frame, { binary: false })
      res.writeHead(204).end()
    })
  } else if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  } else {
    res.writeHead(404).end()
  }
})

server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => ws.terminate())
  })
})

function stop() {
  for (const client of wss.clients) client.terminate()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// stops by itself even if the bench that started it is gone
setTimeout(stop, maxLifetimeMs).unref()

server.listen(port, '127.0.0.1', 1024)
