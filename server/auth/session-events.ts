/** Which sessions just stopped being valid: some by id, or every session of a user. */
export interface Revocation {
  sessionIds?: number[]
  userId?: number
}

type Listener = (revocation: Revocation) => void | Promise<void>

/**
 * Tells whoever holds live connections (the socket group) that sessions were
 * revoked, so they can be closed at once instead of at their next request.
 */
export class SessionEvents {
  readonly #listeners = new Set<Listener>()

  onRevoked(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async revoked(revocation: Revocation | number[]): Promise<void> {
    const event = Array.isArray(revocation) ? { sessionIds: revocation } : revocation
    for (const listener of this.#listeners) await listener(event)
  }
}
