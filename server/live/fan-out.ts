import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { Delivery } from './stream.ts'
import { isAfter, streamPosition, type StreamPosition } from './stream-ids.ts'
import { textFrames } from './text-frames.ts'

/**
 * One open socket, for as long as it is open: thousands at a time, for hours,
 * so it holds only what the fan-out and the session watcher read. Made with
 * every field, so none is added later (an object that gains a property after
 * it is made gets a second allocation for it).
 */
export interface FanOutMember {
  socket: WebSocket
  sessionId: number
  userId: number
  /**
   * while a reconnecting client is being replayed to, the fan-out passes it
   * by: its replay reads on through the shared history until it has caught up
   * (so nothing waits per socket, however long the replay takes)
   */
  replaying: boolean
  /** the newest notification this socket has, or was told (by `ready`) it needn't have */
  seenThrough: { id: string; position: StreamPosition } | null
  /** since when its unsent output has been over the cap; null while under */
  overCapSince: number | null
}

export interface FanOutStats {
  framesSent: number
  droppedSlow: number
}

/**
 * How long one slice of a broadcast may hold the event loop. A batch read
 * from Redis under load can be hundreds of notifications for thousands of
 * sockets: written in one go, that holds the loop long enough that no POST
 * is answered and no pong read meanwhile. In slices, the rest waits for the
 * next turn of the loop instead.
 */
const SLICE_MS = 8

/**
 * This instance's open, authenticated sockets. Notifications are queued as
 * they arrive and fanned out in order, batch by batch: the batch is framed
 * once, as the bytes of all its WebSocket frames, and each socket gets that
 * one buffer in one write (one syscall, however many frames).
 *
 * A member that stops reading is cut off once its unsent output has stayed
 * over the cap for `slowGraceMs`, so it can't hold memory hostage or slow the
 * others. (The grace matters: a burst is written to every socket within a few
 * ticks, before even the fastest reader could take any of it.)
 */
export class FanOut {
  readonly members = new Set<FanOutMember>()
  readonly stats: FanOutStats = { framesSent: 0, droppedSlow: 0 }
  readonly #timer: NodeJS.Timeout
  /** deliveries not yet fanned out, oldest first */
  #queue: Delivery[] = []
  #draining = false
  #stopped = false

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly slowGraceMs: number,
  ) {
    this.#timer = setInterval(() => this.dropSlow(), Math.max(50, slowGraceMs / 2))
    this.#timer.unref()
  }

  stop(): void {
    this.#stopped = true
    this.#queue = []
    clearInterval(this.#timer)
  }

  /** Cuts off members whose output has been over the cap for longer than the grace. */
  dropSlow(now = Date.now()): void {
    for (const member of this.members) {
      if (member.socket.bufferedAmount <= this.maxBufferedBytes) {
        member.overCapSince = null
      } else if (!member.overCapSince) {
        member.overCapSince = now
      } else if (now - member.overCapSince >= this.slowGraceMs) {
        this.stats.droppedSlow++
        member.socket.terminate()
        this.members.delete(member)
      }
    }
  }

  add(member: FanOutMember): void {
    this.members.add(member)
  }

  remove(member: FanOutMember): void {
    this.members.delete(member)
  }

  /**
   * Queues a delivery for every member. The fan-out starts on the next turn
   * of the loop, so the notifications of one Redis read (or one relay batch)
   * go out together.
   */
  broadcast(delivery: Delivery): void {
    if (this.#stopped) return
    this.#queue.push(delivery)
    if (!this.#draining) {
      this.#draining = true
      setImmediate(() => this.#drain())
    }
  }

  /** Marks everything up to `id` as had: a socket joining now is told (`ready`) to start after it. */
  skipThrough(member: FanOutMember, id: string): void {
    const position = streamPosition(id)
    if (!member.seenThrough || isAfter(position, member.seenThrough.position)) member.seenThrough = { id, position }
  }

  /**
   * Writes deliveries to one member, in one corked write, skipping what it
   * already has (replay and live can overlap). `flushed`, if given, is called
   * once what was written has been handed to the kernel (or failed, or there
   * was nothing to write).
   */
  send(member: FanOutMember, deliveries: readonly Delivery[], flushed?: () => void): void {
    const socket = member.socket
    if (socket.readyState !== socket.OPEN) return flushed?.()
    let last = -1
    if (flushed) {
      for (let i = deliveries.length - 1; i >= 0 && last < 0; i--) {
        if (!member.seenThrough || isAfter(deliveries[i]!.position, member.seenThrough.position)) last = i
      }
      if (last < 0) return flushed()
    }
    if (socket.bufferedAmount > this.maxBufferedBytes) member.overCapSince ??= Date.now()
    // ws writes each frame as its own writev; corking the TCP socket around
    // the batch lets Node hand the kernel all of them at once. `_socket` is
    // ws's (undocumented but long-stable) underlying net.Socket.
    const raw = (socket as unknown as { _socket?: Socket })._socket
    raw?.cork()
    try {
      for (let i = 0; i < deliveries.length; i++) {
        const delivery = deliveries[i]!
        if (member.seenThrough && !isAfter(delivery.position, member.seenThrough.position)) continue
        if (i === last) socket.send(delivery.frame, TEXT_FRAME, () => flushed!())
        else socket.send(delivery.frame, TEXT_FRAME)
        member.seenThrough = { id: delivery.id, position: delivery.position }
        this.stats.framesSent++
      }
    } finally {
      raw?.uncork()
    }
  }

  /**
   * Writes a batch framed once (`framed`, the frames of `deliveries`) to one
   * member in one write, when it has none of the batch yet (the usual case);
   * one that has part of it (replay and live overlapping) gets the rest
   * frame by frame. The bytes go to ws's underlying socket, which is safe
   * because ws writes every frame of its own straight through as well (no
   * compression, no Blob sends here), so frames never interleave, and its
   * `bufferedAmount`, which the slow-reader cap reads, counts them.
   */
  #sendFramed(member: FanOutMember, deliveries: readonly Delivery[], framed: Buffer): void {
    const socket = member.socket
    const raw = (socket as unknown as { _socket?: Socket })._socket
    if (!raw || (member.seenThrough && !isAfter(deliveries[0]!.position, member.seenThrough.position))) return this.send(member, deliveries)
    if (socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > this.maxBufferedBytes) member.overCapSince ??= Date.now()
    raw.write(framed)
    const last = deliveries[deliveries.length - 1]!
    member.seenThrough = { id: last.id, position: last.position }
    this.stats.framesSent += deliveries.length
  }

  /**
   * Writes one page of a replay, then holds the replay while the socket's
   * unsent output is over the cap: until the page has been handed to the
   * kernel, or the socket closes. So a replaying socket holds at most the cap
   * and one page; one that does not read stays over the cap, and `dropSlow`
   * cuts it off after the grace, exactly as it would a live one.
   */
  async sendPaced(member: FanOutMember, deliveries: readonly Delivery[]): Promise<void> {
    const socket = member.socket
    let done!: () => void
    const flushed = new Promise<void>((resolve) => (done = resolve))
    this.send(member, deliveries, () => done())
    if (socket.bufferedAmount <= this.maxBufferedBytes) return
    socket.once('close', done)
    try {
      await flushed
    } finally {
      socket.off('close', done)
    }
  }

  /**
   * Writes one frame to every socket of one user, outside the ordered stream
   * (a job's status: never replayed, never seen by anyone else). Returns how
   * many sockets it was written to.
   */
  sendToUser(userId: number, frame: string): number {
    let sent = 0
    for (const member of this.members) {
      if (member.userId !== userId || member.socket.readyState !== member.socket.OPEN) continue
      member.socket.send(frame, TEXT_FRAME)
      sent++
    }
    return sent
  }

  /** Closes the sockets whose session matches; returns how many. */
  closeWhere(match: (member: FanOutMember) => boolean, code: number, reason: string): number {
    let closed = 0
    for (const member of this.members) {
      if (!match(member)) continue
      member.socket.close(code, reason)
      this.members.delete(member)
      closed++
    }
    return closed
  }

  /**
   * Fans the queue out, one batch at a time and each batch in slices of
   * members. A member that joins mid-batch is not in the batch's list; it was
   * told its position when it joined (`skipThrough`), which covers the batch.
   * A replaying member passed by here gets the batch from its replay: the
   * batch is in the history before it is queued, and the replay only ends
   * once it has read up to the stream's position.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stopped) {
        const batch = this.#queue
        this.#queue = []
        const framed = textFrames(batch.map((delivery) => delivery.frame))
        const members = [...this.members]
        let sliceStart = performance.now()
        for (let i = 0; i < members.length; i++) {
          const member = members[i]!
          if (!member.replaying) this.#sendFramed(member, batch, framed)
          if ((i & 63) === 63 && performance.now() - sliceStart > SLICE_MS) {
            await nextTurn()
            sliceStart = performance.now()
          }
        }
      }
    } finally {
      this.#draining = false
    }
  }
}

/** the frames are JSON text, already UTF-8 encoded: ws must send them as text, not binary */
const TEXT_FRAME = { binary: false } as const

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))
