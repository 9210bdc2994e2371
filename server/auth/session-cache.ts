import type { Revocation } from './session-events.ts'

export interface CachedSession {
  sessionId: number
  user: { id: number }
  idleExpires: Date
  absoluteExpires: Date
}

interface Entry<S> {
  session: S
  /** epoch ms after which the entry is not used */
  until: number
}

/**
 * Resolved sessions, kept for `ttlMs` so that a burst of requests with one
 * key costs one database lookup instead of one each.
 *
 * What it may not do is keep a session alive: a revocation heard on this
 * instance (sign-out, a user changed or deleted: SessionEvents) drops the
 * entry at once, and an entry never outlives its session's expiry. A
 * revocation made elsewhere (another instance, the user command on
 * PostgreSQL) is not heard, so it takes effect here within `ttlMs`: the same
 * bound as the sockets' SESSION_CHECK_MS. Unknown keys are not cached, so a
 * stream of made-up keys cannot fill it. Requests that miss together share
 * one lookup, unless a revocation came between them.
 */
export class SessionCache<S extends CachedSession> {
  /** by session key: the request holds the key in memory anyway, and hashing it on every hit cost more than the lookup */
  readonly #entries = new Map<string, Entry<S>>()
  /**
   * Lookups under way, by key: requests that miss together share one. With
   * many requests in flight on one key, every expiry of its entry sent each
   * of them to the database at once.
   */
  readonly #loading = new Map<string, { generation: number; session: Promise<S | undefined> }>()
  /** bumped by every revocation, so a lookup that raced one is neither cached nor shared */
  #generation = 0

  constructor(
    private readonly load: (key: string) => Promise<S | undefined>,
    private readonly options: { ttlMs: number; maxEntries: number; now?: () => number },
  ) {}

  async resolve(key: string): Promise<S | undefined> {
    if (this.options.ttlMs <= 0) return this.load(key)
    const now = this.#now()
    const cached = this.#entries.get(key)
    if (cached && cached.until > now) return cached.session
    if (cached) this.#entries.delete(key)
    // a lookup that began before a revocation may return the revoked session: not shared with those who come after it
    const loading = this.#loading.get(key)
    if (loading && loading.generation === this.#generation) return loading.session
    const generation = this.#generation
    const session = this.#lookUp(key, generation)
    this.#loading.set(key, { generation, session })
    try {
      return await session
    } finally {
      if (this.#loading.get(key)?.session === session) this.#loading.delete(key)
    }
  }

  async #lookUp(key: string, generation: number): Promise<S | undefined> {
    const session = await this.load(key)
    // a revocation heard while the database answered may be about this very session
    if (session && generation === this.#generation) {
      const until = Math.min(this.#now() + this.options.ttlMs, session.idleExpires.getTime(), session.absoluteExpires.getTime())
      this.#makeRoom()
      this.#entries.set(key, { session, until })
    }
    return session
  }

  /** Drops the revoked sessions: by id, or every session of a user. */
  forget(revocation: Revocation): void {
    this.#generation++
    const ids = new Set(revocation.sessionIds ?? [])
    for (const [key, { session }] of this.#entries) {
      if (ids.has(session.sessionId) || session.user.id === revocation.userId) this.#entries.delete(key)
    }
  }

  get size(): number {
    return this.#entries.size
  }

  #makeRoom() {
    if (this.#entries.size < this.options.maxEntries) return
    const now = this.#now()
    for (const [key, entry] of this.#entries) if (entry.until <= now) this.#entries.delete(key)
    // still full of live entries: drop the oldest (a Map iterates in insertion order)
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.options.maxEntries) break
      this.#entries.delete(key)
    }
  }

  #now(): number {
    return (this.options.now ?? Date.now)()
  }
}
