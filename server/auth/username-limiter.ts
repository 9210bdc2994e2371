/**
 * The username a sign-in attempt counts against: trimmed, case-folded and
 * NFKC-normalized. The users table matches usernames exactly, so "ADMIN" or
 * " admin" cannot reach admin's account anyway; counting them as "admin"
 * makes sure no spelling of a name buys a guesser fresh attempts.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase()
}

export type Attempt = { allowed: true; succeeded(): void } | { allowed: false; retryAfterMs: number }

interface Window {
  count: number
  endsAt: number
}

/**
 * Failed sign-ins per username, in fixed windows (one starts at the first
 * attempt). An attempt counts from the moment it starts, so a burst of
 * parallel guesses cannot all pass before the first one fails; one that
 * succeeds gives its place back, so the account's owner signing in never
 * uses up the limit. Per instance, like the per-address limit.
 */
export class UsernameLimiter {
  readonly #windows = new Map<string, Window>()

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    /** names tracked at once; past it the oldest windows are dropped (the per-address limit bounds how fast any one client can add names) */
    private readonly maxNames = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  begin(username: string): Attempt {
    const key = usernameKey(username)
    const now = this.now()
    let window = this.#windows.get(key)
    if (!window || window.endsAt <= now) {
      this.#windows.delete(key)
      window = { count: 0, endsAt: now + this.windowMs }
      this.#windows.set(key, window)
      this.#evictOldest(key)
    }
    if (window.count >= this.max) return { allowed: false, retryAfterMs: window.endsAt - now }
    window.count++
    const counted = window
    return {
      allowed: true,
      succeeded: () => {
        counted.count = Math.max(0, counted.count - 1)
      },
    }
  }

  /**
   * Past the bound: first the windows that have ended (the oldest, since the
   * map is in the order windows began), then the oldest not at the limit, so
   * a flood of new names cannot set a locked name free; only if every name is
   * locked, the oldest of them.
   */
  #evictOldest(keep: string): void {
    const now = this.now()
    for (const pass of ['ended', 'open', 'any'] as const) {
      for (const [key, window] of this.#windows) {
        if (this.#windows.size <= this.maxNames) return
        const evictable = pass === 'any' || window.endsAt <= now || (pass === 'open' && window.count < this.max)
        if (evictable && key !== keep) this.#windows.delete(key)
      }
    }
  }
}
