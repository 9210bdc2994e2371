import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits, URL-safe so it can ride in `?session_key=`. */
export function generateSessionKey(): string {
  return randomBytes(32).toString('base64url')
}

// The key has 256 bits of entropy, so a fast hash is enough: nobody can
// brute-force it from the stored hash, and lookups stay one index probe.
export function hashSessionKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export const SESSION_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** The HttpOnly cookie the browser holds the key in. */
export const SESSION_COOKIE = 'session'
