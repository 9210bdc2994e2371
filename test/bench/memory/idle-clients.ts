import WebSocket from 'ws'

// The client side of the idle-socket benchmark, a process of its own (so its
// memory and CPU are not the server's): opens sockets to one subject on
// command and keeps them open and quiet. Ours: each socket authenticated with
// `Authorization: Bearer`, the i-th socket with session key ⌊i / per⌋ (so
// `per` sockets share a session). Socket.IO: the Engine.IO handshake by hand
// (connect to the namespace, answer pings). Exits by itself after
// maxLifetimeMs.

export type IdleKind = 'ours' | 'bare' | 'socketio'

export interface IdleClientsConfig {
  kind: IdleKind
  /** http://127.0.0.1:<port> */
  baseUrl: string
  /** ours: the session keys, each used by `socketsPerSession` sockets in turn */
  sessionKeys?: string[]
  socketsPerSession?: number
  maxLifetimeMs: number
}

export type IdleCommand = { cmd: 'connect'; total: number; concurrency: number } | { cmd: 'close' }
export type IdleReport = { type: 'connected'; open: number; failed: number; error?: string; ms: number } | { type: 'error'; message: string }

if (process.send) {
  const config = JSON.parse(process.argv[2]!) as IdleClientsConfig
  const sockets: WebSocket[] = []
  const wsBase = config.baseUrl.replace(/^http/, 'ws')
  const report = (message: IdleReport) => process.send!(message)
  setTimeout(() => process.exit(3), config.maxLifetimeMs).unref()

  const open = (i: number) =>
    new Promise<void>((resolve, reject) => {
      let socket: WebSocket
      if (config.kind === 'ours') {
        const key = config.sessionKeys![Math.floor(i / config.socketsPerSession!)]
        if (!key) return reject(new Error(`no session key for socket ${i}`))
        socket = new WebSocket(`${wsBase}/ws`, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false })
        socket.once('open', () => resolve())
      } else if (config.kind === 'bare') {
        socket = new WebSocket(`${wsBase}/`, { perMessageDeflate: false })
        socket.once('open', () => resolve())
      } else {
        socket = new WebSocket(`${wsBase}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false })
        // Engine.IO open ("0{…}"), then the namespace's answer to "40" ("40{sid}"): connected; pings ("2") get pongs ("3")
        socket.on('message', (data: Buffer) => {
          const text = data.toString()
          if (text.startsWith('0')) socket.send('40')
          else if (text.startsWith('40')) resolve()
          else if (text.startsWith('44')) reject(new Error(`socket.io refused: ${text}`))
          else if (text === '2') socket.send('3')
        })
      }
      socket.once('error', reject)
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)))
      sockets.push(socket)
    })

  process.on('message', async (command: IdleCommand) => {
    try {
      if (command.cmd === 'close') {
        for (const socket of sockets) socket.terminate()
        process.exit(0)
      }
      const begin = performance.now()
      let failed = 0
      let error: string | undefined
      let next = sockets.length
      const worker = async () => {
        while (next < command.total) {
          const i = next++
          await open(i).catch((e: Error) => {
            failed++
            error ??= e.message
          })
        }
      }
      await Promise.all(Array.from({ length: command.concurrency }, worker))
      const openNow = sockets.filter((s) => s.readyState === WebSocket.OPEN).length
      report({ type: 'connected', open: openNow, failed, error, ms: performance.now() - begin })
    } catch (e) {
      report({ type: 'error', message: (e as Error).message })
    }
  })
}
