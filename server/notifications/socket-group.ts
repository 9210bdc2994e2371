import type { WebSocket } from 'ws'
import type { Delivery } from './notification-layer.ts'
import { compareStreamIds } from './stream-ids.ts'

export interface GroupMember {
  socket: WebSocket
  sessionId: number
  userId: number
  absoluteExpires: Date
  /** while a reconnecting client is being replayed to, live deliveries wait here */
  pending: Delivery[] | null
  lastSentId: string | null
  /** since when its unsent output has been over the cap; null while under */
  overCapSince?: number | null
}

export interface GroupStats {
  framesSent: number
  droppedSlow: number
}

/**
 * This instance's open, authenticated sockets. A notification is serialized
 * once (by the layer) and the same frame is written to every member; a member
 * that stops reading is cut off once its unsent output has stayed over the
 * cap for `slowGraceMs`, so it can't hold memory hostage or slow the others.
 * (The grace matters: a burst is written to every socket within one tick,
 * before even the fastest reader could take any of it.)
 */
export class SocketGroup {
  readonly members = new Set<GroupMember>()
  readonly stats: GroupStats = { framesSent: 0, droppedSlow: 0 }
  readonly #timer: NodeJS.Timeout

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly slowGraceMs: number,
  ) {
    this.#timer = setInterval(() => this.dropSlow(), Math.max(50, slowGraceMs / 2))
    this.#timer.unref()
  }

  stop(): void {
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

  add(member: GroupMember): void {
    this.members.add(member)
  }

  remove(member: GroupMember): void {
    this.members.delete(member)
  }

  broadcast(delivery: Delivery): void {
    for (const member of this.members) {
      if (member.pending) member.pending.push(delivery)
      else this.send(member, delivery)
    }
  }

  /** Writes one delivery unless the member already has it (replay and live can overlap). */
  send(member: GroupMember, delivery: Delivery): void {
    const id = delivery.notification.id
    if (member.lastSentId && compareStreamIds(id, member.lastSentId) <= 0) return
    if (member.socket.readyState !== member.socket.OPEN) return
    if (member.socket.bufferedAmount > this.maxBufferedBytes) member.overCapSince ??= Date.now()
    member.socket.send(delivery.frame)
    member.lastSentId = id
    this.stats.framesSent++
  }

  /** Closes the sockets whose session matches; returns how many. */
  closeWhere(match: (member: GroupMember) => boolean, code: number, reason: string): number {
    let closed = 0
    for (const member of this.members) {
      if (!match(member)) continue
      member.socket.close(code, reason)
      this.members.delete(member)
      closed++
    }
    return closed
  }
}
