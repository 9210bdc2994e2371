/**
 * Runs `work` at most once per `ms`, however often it is asked for: a call
 * after a quiet spell runs at once (on the next turn), calls in a burst
 * fold into one at the end of the spell. For views that re-count 50 000
 * incidents on every live update.
 */
export function atMostEvery(ms: number, work: () => void): { request(): void; cancel(): void } {
  let pending: ReturnType<typeof setTimeout> | undefined
  let last = -Infinity
  return {
    request() {
      if (pending !== undefined) return
      pending = setTimeout(() => {
        pending = undefined
        last = performance.now()
        work()
      }, Math.max(0, ms - (performance.now() - last)))
    },
    cancel() {
      clearTimeout(pending)
      pending = undefined
    },
  }
}
