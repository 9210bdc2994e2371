import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { createAdapter } from '@socket.io/redis-adapter'
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter'
import { createClient } from 'redis'

// What a user would pick for live updates across instances: Socket.IO with
// a Redis adapter. ADAPTER=streams takes @socket.io/redis-streams-adapter
// (XADD/XREAD on a Redis stream: the like-for-like peer of ours, whose
// notifications also go through a Redis stream); otherwise the classic
// @socket.io/redis-adapter (pub/sub). A POST's body is emitted to every socket
// as the "notification" event. Like the floor it skips authentication and the
// database, and answers the POST at once; unlike it, the payload goes through
// Socket.IO's encoder and the adapter (which delivers to this instance's
// sockets at once and publishes it to Redis for the other instances).
// Socket.IO has no batch emit: each notification is written to each socket
// as Socket.IO writes it, which is what a user of it gets.

const port = Number(process.env.PORT)
const redisUrl = process.env.REDIS_URL!
// pub/sub channels are not per Redis database: a prefix of our own keeps runs apart
const channel = process.env.CHANNEL ?? `bench-socketio-${process.pid}`
const streams = process.env.ADAPTER === 'streams'
const maxLifetimeMs = Number(process.env.MAX_LIFETIME_MS ?? 3_600_000)

const pub = createClient({ url: redisUrl })
const sub = pub.duplicate()
// an 'error' without a listener would kill the process; say it and let the client reconnect
for (const client of [pub, sub]) client.on('error', (error: Error) => console.error(`redis: ${error.message}`))
await Promise.all([pub.connect(), sub.connect()])
process.on('exit', (code) => console.error(`socketio-server exiting with ${code}`))

const httpServer = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/broadcast') {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      res.writeHead(204).end()
      io.emit('notification', JSON.parse(body))
    })
  } else if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  } else if (!req.url?.startsWith('/socket.io/')) {
    res.writeHead(404).end()
  }
})

const io = new Server(httpServer, {
  // WebSocket only, as our server: no long-polling start and upgrade
  transports: ['websocket'],
  serveClient: false,
  // a stream is per Redis database (the bench claims one per run); the name keeps it apart all the same
  adapter: streams ? createStreamsAdapter(pub, { streamName: channel }) : createAdapter(pub, sub, { key: channel }),
})

function stop() {
  io.close()
  void Promise.allSettled([pub.close(), sub.close()]).then(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
setTimeout(stop, maxLifetimeMs).unref()

httpServer.listen(port, '127.0.0.1', 1024)
