import type { WebSocket } from 'ws'

/** How long one slice of a sweep may hold the event loop (as the fan-out's slices). */
const SLICE_MS = 8

/**
 * Finds peers that vanished without closing: every `intervalMs` each socket
 * that answered the previous ping is pinged again, and one that did not is
 * terminated. One timer and one pong listener serve every socket: an idle
 * socket lives for hours, thousands at a time, and a timer, its callback and
 * the closures around it per socket were most of what ours held beyond ws's
 * own. A large sweep goes in slices, so the loop keeps turning. The owner of
 * a socket calls `forget` once it has closed (from the one close listener it
 * has anyway: one per socket here would be one more).
 */
export class PingSweep {
  /** socket -> whether it answered since the last ping */
  readonly #answered = new Map<WebSocket, boolean>()
  readonly #timer: NodeJS.Timeout
  #sweeping = false

  constructor(intervalMs: number) {
    const answered = this.#answered
    this.#onPong = function (this: WebSocket) {
      if (answered.has(this)) answered.set(this, true)
    }
    this.#timer = setInterval(() => void this.#sweep(), intervalMs)
    this.#timer.unref()
  }

  watch(socket: WebSocket): void {
    this.#answered.set(socket, true)
    socket.on('pong', this.#onPong)
  }

  forget(socket: WebSocket): void {
    this.#answered.delete(socket)
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  // one listener for every socket: an emitter calls it with `this` set to the socket
  readonly #onPong: (this: WebSocket) => void

  async #sweep(): Promise<void> {
    if (this.#sweeping) return
    this.#sweeping = true
    try {
      let sliceStart = performance.now()
      let i = 0
      for (const [socket, answered] of [...this.#answered]) {
        if (!this.#answered.has(socket)) continue // closed while an earlier slice waited
        if (!answered) {
          socket.terminate()
          this.#answered.delete(socket)
        } else {
          this.#answered.set(socket, false)
          socket.ping()
        }
        if ((++i & 63) === 0 && performance.now() - sliceStart > SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          sliceStart = performance.now()
        }
      }
    } finally {
      this.#sweeping = false
    }
  }
}
