import type { Notification, ServerFrame } from '../../contracts/notifications.ts'

export type ConnectionState = 'connected' | 'reconnecting' | 'offline'

export interface LiveHandlers {
  notification(n: Notification): void
  /** the server's history no longer reaches back to our last id: reload everything */
  reset(): void
  state(state: ConnectionState): void
  /** the session ended (close code 1008) */
  signedOut(): void
}

/**
 * The live socket, kept open: reconnects with backoff, and with `since` so
 * nothing is missed in between. The session cookie authenticates it, so no
 * key ever appears in a URL.
 */
export class LiveConnection {
  #socket: WebSocket | undefined
  #lastId: string | null = null
  #attempt = 0
  #timer: number | undefined
  #stopped = false
  #everConnected = false

  constructor(private readonly handlers: LiveHandlers) {
    window.addEventListener('offline', this.#onOffline)
    window.addEventListener('online', this.#onOnline)
  }

  start() {
    this.#open()
  }

  stop() {
    this.#stopped = true
    clearTimeout(this.#timer)
    window.removeEventListener('offline', this.#onOffline)
    window.removeEventListener('online', this.#onOnline)
    this.#socket?.close()
  }

  #open() {
    if (this.#stopped) return
    const url = new URL('/ws', location.href)
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    if (this.#lastId) url.searchParams.set('since', this.#lastId)
    const socket = new WebSocket(url)
    this.#socket = socket
    socket.onopen = () => {
      this.#attempt = 0
      this.handlers.state('connected')
      // back after a drop with no id to resume from (nothing had arrived yet):
      // the server can't know what we missed, so reload rather than guess
      if (this.#everConnected && !this.#lastId) this.handlers.reset()
      this.#everConnected = true
    }
    socket.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as ServerFrame
      if (frame.type === 'reset') {
        this.#lastId = null // too old to resume from: take the position the next `ready` gives
        return this.handlers.reset()
      }
      if (frame.type === 'ready') {
        this.#lastId ??= frame.id
        return
      }
      this.#lastId = frame.id
      this.handlers.notification(frame)
    }
    socket.onclose = (event) => {
      if (this.#socket !== socket || this.#stopped) return
      if (event.code === 1008) return this.handlers.signedOut()
      this.#retry()
    }
  }

  #retry() {
    if (!navigator.onLine) return this.handlers.state('offline')
    this.handlers.state('reconnecting')
    // 0.5 s, 1 s, 2 s … up to 10 s, with jitter so a restarted server isn't hit by everyone at once
    const delay = Math.min(10_000, 500 * 2 ** this.#attempt++) * (0.75 + Math.random() / 2)
    clearTimeout(this.#timer)
    this.#timer = window.setTimeout(() => this.#open(), delay)
  }

  /** Browsers can keep a dead socket looking open when the network drops: close it and wait for `online`. */
  #onOffline = () => {
    this.handlers.state('offline')
    const socket = this.#socket
    this.#socket = undefined
    socket?.close()
  }

  #onOnline = () => {
    this.#attempt = 0
    clearTimeout(this.#timer)
    this.handlers.state('reconnecting')
    this.#open()
  }
}
