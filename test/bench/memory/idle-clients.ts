import WebSocket from 'ws'

// The client side of the idle-socket benchmark, a process of its own (so its
// memory and CPU are not the server's): opens sockets to one subject on
// command and keeps them open and quiet. Ours: each socket authenticated with
// `Authorization: Bearer`, the i-th socket with session key ⌊i / per⌋ (so
// `per` sockets share a session). Socket.IO: the Engine.IO handshake by hand
// (connect to the namespace, answer pings). A socket the server closes is
// opened again by the next `connect` (as a client reconnects), and counted.
// Exits by itself after maxLifetimeMs.

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
export type IdleReport =
  | { type: 'connected'; open: number; failed: number; error?: string; closed: number; closedWith?: string; ms: number }
  | { type: 'error'; message: string }

if (process.send) {
  const config = JSON.parse(process.argv[2]!) as IdleClientsConfig
  /** slot i holds the i-th socket while it is open (or opening) */
  const slots: (WebSocket | undefined)[] = []
  let closed = 0
  let closedWith: string | undefined
  const wsBase = config.baseUrl.replace(/^http/, 'ws')
  const report = (message: IdleReport) => process.send!(message)
  setTimeout(() => process.exit(3), config.maxLifetimeMs).unref()

  const open = (i: number) =>
    new Promise<void>((resolved, reject) => {
      let socket: WebSocket
      let opened = false
      const resolve = () => {
        opened = true
        resolved()
      }
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
      slots[i] = socket
      socket.once('error', reject)
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)))
      socket.once('close', (code: number, reason: Buffer) => {
        // the slot is free again: the next `connect` opens it anew, as a client would reconnect
        if (slots[i] === socket) slots[i] = undefined
        if (opened) {
          closed++
          closedWith ??= `${code} ${reason.toString()}`
        }
        reject(new Error(`closed: ${code} ${reason.toString()}`))
      })
    })

  /** opens every empty slot below `total`, `concurrency` at a time */
  const fill = async (total: number, concurrency: number) => {
    let failed = 0
    let error: string | undefined
    const empty = Array.from({ length: total }, (_, i) => i).filter((i) => !slots[i])
    let next = 0
    const worker = async () => {
      while (next < empty.length) {
        const i = empty[next++]!
        await open(i).catch((e: Error) => {
          failed++
          error ??= e.message
          slots[i]?.terminate()
        })
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return { failed, error }
  }

  process.on('message', async (command: IdleCommand) => {
    try {
      if (command.cmd === 'close') {
        for (const socket of slots) socket?.terminate()
        process.exit(0)
      }
      const begin = performance.now()
      let failed = 0
      let error: string | undefined
      // a socket the server closes while others join is opened again; a few passes at most
      for (let pass = 0; pass < 5; pass++) {
        const result = await fill(command.total, command.concurrency)
        failed += result.failed
        error ??= result.error
        if (slots.slice(0, command.total).every((s) => s?.readyState === WebSocket.OPEN)) break
      }
      const openNow = slots.filter((s) => s?.readyState === WebSocket.OPEN).length
      report({ type: 'connected', open: openNow, failed, error, closed, closedWith, ms: performance.now() - begin })
    } catch (e) {
      report({ type: 'error', message: (e as Error).message })
    }
  })
}
