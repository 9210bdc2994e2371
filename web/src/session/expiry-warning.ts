import type { Notifier } from '../ui/notifier.ts'
import { escapeHtml } from '../ui/escape-html.ts'

/** the warning shows this long before the session's absolute expiry */
export const WARN_BEFORE_MS = 5 * 60_000
/** how often the clock is looked at: a timer of days would overflow, and a laptop that slept skips timers */
const LOOK_EVERY_MS = 15_000

const clock = (at: Date) => at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/**
 * Warns, once, a few minutes before the session's absolute expiry (which no
 * use moves): the operator can finish and save what they are typing. Returns
 * the stop.
 */
export function warnBeforeExpiry(expires: string | null, notifier: Notifier): () => void {
  if (!expires) return () => {}
  const at = new Date(expires)
  let warned = false
  const look = () => {
    const left = at.getTime() - Date.now()
    if (warned || left > WARN_BEFORE_MS || left <= 0) return
    warned = true
    const minutes = Math.max(1, Math.round(left / 60_000))
    notifier.toast(
      `<strong>Your session ends at ${escapeHtml(clock(at))}</strong>in about ${minutes} minute${minutes === 1 ? '' : 's'}. Save what you are typing; you will be asked to sign in again, and an unsaved form is kept.`,
      'session-expiry-warning',
      '#b7791f',
      left,
    )
  }
  look()
  const timer = setInterval(look, LOOK_EVERY_MS)
  return () => clearInterval(timer)
}
