import { setTimeout as delay } from 'node:timers/promises'

// Tests wait on conditions, never for a guessed while: a poll with a deadline
// (or an event with one), which ends as soon as the condition holds and fails
// saying what it waited for when it never does.

/** the deadline for something that happens within moments, as ws-client's waitFor */
export const WAIT_TIMEOUT = 10_000

export interface WaitOptions {
  timeoutMs?: number
  /** how often to look again */
  everyMs?: number
  /** what was awaited, for the failure message */
  what?: string | (() => string)
}

/** Resolves once `condition` holds (polled); rejects after the deadline. An error `condition` throws ends the wait with it. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const { timeoutMs = WAIT_TIMEOUT, everyMs = 20 } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe(options.what)}`)
    await delay(everyMs)
  }
}

/** What `promise` resolves with, or a rejection naming `what` if it has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_TIMEOUT): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

const describe = (what: WaitOptions['what']) => (typeof what === 'function' ? what() : (what ?? 'a condition'))
