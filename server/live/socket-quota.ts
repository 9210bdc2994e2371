/** Which cap refused a socket, and its value. */
export interface QuotaRefusal {
  limit: 'session' | 'user'
  max: number
}

/**
 * Open sockets per session and per user on this instance. Memory is spent per
 * process, so the count is too: each socket may hold up to the output cap
 * (WS_MAX_BUFFERED_BYTES) plus a page of replay, and these caps turn that into
 * a bound per user. `take` counts synchronously, so two upgrades racing each
 * other cannot both slip under the cap. It holds no state per socket: the
 * caller gives each place back exactly once (an idle socket lives for hours,
 * thousands at a time, and a closure per socket adds up).
 */
export class SocketQuota {
  readonly #bySession = new Map<number, number>()
  readonly #byUser = new Map<number, number>()

  constructor(
    readonly perSession: number,
    readonly perUser: number,
  ) {}

  /** Counts one more socket for the session and user, or returns the cap that is reached. Every socket counted must be given back once. */
  take(sessionId: number, userId: number): QuotaRefusal | undefined {
    if ((this.#bySession.get(sessionId) ?? 0) >= this.perSession) return { limit: 'session', max: this.perSession }
    if ((this.#byUser.get(userId) ?? 0) >= this.perUser) return { limit: 'user', max: this.perUser }
    increment(this.#bySession, sessionId, 1)
    increment(this.#byUser, userId, 1)
    return undefined
  }

  /** Gives back one socket counted by `take`. */
  giveBack(sessionId: number, userId: number): void {
    increment(this.#bySession, sessionId, -1)
    increment(this.#byUser, userId, -1)
  }

  /** sockets counted now (for a user, or all) */
  count(userId?: number): number {
    if (userId !== undefined) return this.#byUser.get(userId) ?? 0
    let total = 0
    for (const n of this.#byUser.values()) total += n
    return total
  }
}

function increment(counts: Map<number, number>, key: number, by: number): void {
  const next = (counts.get(key) ?? 0) + by
  if (next > 0) counts.set(key, next)
  else counts.delete(key)
}
