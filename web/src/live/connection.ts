import { CLOSE_CODES, type JobFrame, type Notification, type ServerFrame } from '../../../contracts/live.ts'

/**
 * `connected`: subscribed and caught up (the server's `ready`, after any
 * replay). `reconnecting`: the socket dropped, or failed fewer than
 * OFFLINE_AFTER_FAILURES times in a row. `offline`: the browser says the
 * network is down, or that many attempts in a row failed (it keeps trying).
 */
export type ConnectionState = 'connected' | 'reconnecting' | 'offline'

/** Failed attempts in a row (sockets that closed before `ready`) after which the page says it is offline: a blip is not an outage. */
export const OFFLINE_AFTER_FAILURES = 3

export interface LiveHandlers {
  notification(n: Notification): void
  /** the status of a job this user started (an invitation's mail, a retried delivery) */
  job?(frame: JobFrame): void
  /** the server's history no longer reaches back to our last id: reload everything */
  reset(): void
  state(state: ConnectionState): void
  /** the session ended (CLOSE_CODES.SESSION_ENDED) */
  signedOut(): void
}


/** Where `online` and `offline` fire, and whether the network is up now: the browser's, by default. */
export interface Network {
  readonly onLine: boolean
  addEventListener(type: 'online' | 'offline', listener: () => void): void
  removeEventListener(type: 'online' | 'offline', listener: () => void): void
}

/** What the connection takes from the browser, so that tests can hand it a `ws` socket and a network they control. */
export interface LiveEnvironment {
  /** the socket's address, before `since` and `epoch` are added: the page's own `/ws` by default */
  url?: URL
  WebSocket?: typeof WebSocket
  network?: Network
}

const browserNetwork: Network = {
  get onLine() {
    return navigator.onLine
  },
  addEventListener: (type, listener) => window.addEventListener(type, listener),
  removeEventListener: (type, listener) => window.removeEventListener(type, listener),
}

function pageSocketUrl(): URL {
  const url = new URL('/ws', location.href)
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return url
}

/**
 * How long to wait before reconnect attempt `attempt` (0 first): 0.5 s, 1 s,
 * 2 s … up to 10 s, with jitter (±25 %, from `random` in [0, 1)) so a
 * restarted server isn't hit by everyone at once.
 */
export function reconnectDelay(attempt: number, random = Math.random()): number {
  return Math.min(10_000, 500 * 2 ** attempt) * (0.75 + random / 2)
}

/** How long the first read waits for the socket to be subscribed before it goes ahead without (see `firstAttempt`). */
const SUBSCRIBE_WAIT_MS = 5000

/**
 * The live socket, kept open: reconnects with backoff, and with `since` (and
 * the epoch it belongs to) so nothing is missed in between. A socket closed
 * because the server's history restarted (CLOSE_CODES.HISTORY_RESTARTED) reconnects the same way, and
 * is told to reload. The session cookie authenticates it, so no
 * key ever appears in a URL.
 */
export class LiveConnection {
  readonly #url: URL
  readonly #WebSocket: typeof WebSocket
  readonly #network: Network
  #socket: WebSocket | undefined
  #lastId: string | null = null
  /** the history #lastId belongs to (the `ready` frame's): the server replays only within it */
  #epoch: string | null = null
  #attempt = 0
  /** sockets in a row that closed before their `ready` */
  #failures = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  /** whether `firstAttempt` has settled, so the page may have read without this socket subscribed */
  #settled = false
  #settle!: () => void

  /**
   * Settles once the first socket is subscribed (its `ready`: anything saved
   * from then on reaches it), or has failed, or has taken SUBSCRIBE_WAIT_MS:
   * the moment to read what is already there. Read sooner and a save
   * committed between the read and the subscription reaches neither. When
   * it settles without a subscription, the socket that later gets one asks
   * for a reload (`reset`), so the gap closes then.
   */
  readonly firstAttempt = new Promise<void>((resolve) => {
    this.#settle = () => {
      this.#settled = true
      resolve()
    }
  })

  constructor(
    private readonly handlers: LiveHandlers,
    environment: LiveEnvironment = {},
  ) {
    this.#url = environment.url ?? pageSocketUrl()
    this.#WebSocket = environment.WebSocket ?? WebSocket
    this.#network = environment.network ?? browserNetwork
    this.#network.addEventListener('offline', this.#onOffline)
    this.#network.addEventListener('online', this.#onOnline)
  }

  start() {
    this.#open()
    setTimeout(this.#settle, SUBSCRIBE_WAIT_MS)
  }

  stop() {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#network.removeEventListener('offline', this.#onOffline)
    this.#network.removeEventListener('online', this.#onOnline)
    this.#socket?.close()
  }

  #open() {
    if (this.#stopped) return
    const url = new URL(this.#url)
    if (this.#lastId) url.searchParams.set('since', this.#lastId)
    if (this.#lastId && this.#epoch) url.searchParams.set('epoch', this.#epoch)
    const socket = new this.#WebSocket(url)
    this.#socket = socket
    /** the server sent `reset` on this socket, and the page reloads for it already */
    let reloading = false
    /** this socket got its `ready`: it worked, whatever ends it */
    let subscribed = false
    socket.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as ServerFrame
      if (frame.type === 'reset') {
        this.#lastId = null // too old to resume from: take the position the next `ready` gives
        reloading = true
        return this.handlers.reset()
      }
      if (frame.type === 'ready') {
        // subscribed with no id to resume from, after the page read without
        // a subscription (the first socket failed, or was slow, or dropped
        // before its `ready`): the server can't know what was missed, so
        // reload, now that nothing saved from here on can be
        if (!this.#lastId && this.#settled && !reloading) this.handlers.reset()
        this.#lastId ??= frame.id
        // what this socket sends, and the id we keep, belong to its history
        this.#epoch = frame.epoch
        this.#settle()
        // Counted from here, not from the socket's opening: a proxy or a
        // server that accepts and closes at once has not connected anything,
        // and its attempts back off and add up to `offline` like refusals.
        subscribed = true
        this.#attempt = 0
        this.#failures = 0
        this.handlers.state('connected')
        return
      }
      // a job this user started: outside the stream, so it moves no position
      if (frame.type === 'job') return this.handlers.job?.(frame)
      this.#lastId = frame.id
      this.handlers.notification(frame)
    }
    socket.onclose = (event) => {
      if (this.#socket !== socket || this.#stopped) return
      // no socket to wait for: the page reads now, and reloads once one is subscribed
      this.#settle()
      if (event.code === CLOSE_CODES.SESSION_ENDED) return this.handlers.signedOut()
      if (!subscribed) this.#failures++
      this.#retry()
    }
  }

  #retry() {
    if (!this.#network.onLine) return this.handlers.state('offline')
    this.handlers.state(this.#failures >= OFFLINE_AFTER_FAILURES ? 'offline' : 'reconnecting')
    const delay = reconnectDelay(this.#attempt++)
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#open(), delay)
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
    this.#failures = 0
    clearTimeout(this.#timer)
    this.handlers.state('reconnecting')
    this.#open()
  }
}
