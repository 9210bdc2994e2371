// The native reference: Bun's built-in WebSocket server (uWebSockets) and its
// topic publish, run by the `bun` binary from node_modules/.bin. Same contract
// as the other subjects: a POST /broadcast's body is one notification frame,
// already serialized, answered at once; every open socket gets it as a text
// frame. Notifications POSTed while a fan-out is due are published together
// on the next turn of the loop, as ours and the floor batch them; uWebSockets
// then corks each subscriber's frames into one write.
// Plain JavaScript, so `tsc` (which knows Node's types, not Bun's) leaves it be.

const port = Number(process.env.PORT)
const maxLifetimeMs = Number(process.env.MAX_LIFETIME_MS ?? 3_600_000)
const TOPIC = 'all'

let queue = []
let scheduled = false

function drain() {
  scheduled = false
  const batch = queue
  queue = []
  for (const text of batch) server.publish(TOPIC, text)
}

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  async fetch(req, srv) {
    const { pathname } = new URL(req.url)
    if (req.method === 'POST' && pathname === '/broadcast') {
      // text, so the frame goes out as a text frame, as the other subjects send it
      queue.push(await req.text())
      if (!scheduled) {
        scheduled = true
        setImmediate(drain)
      }
      return new Response(null, { status: 204 })
    }
    if (pathname === '/health') return new Response('ok')
    if (pathname === '/' && srv.upgrade(req)) return undefined
    return new Response(null, { status: 404 })
  },
  websocket: {
    perMessageDeflate: false,
    // a slow reader is buffered, not dropped, as `ws` does by default
    backpressureLimit: 1024 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    open(ws) {
      ws.subscribe(TOPIC)
    },
    message() {},
  },
})

function stop() {
  server.stop(true)
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// stops by itself even if the bench that started it is gone
setTimeout(stop, maxLifetimeMs).unref()
