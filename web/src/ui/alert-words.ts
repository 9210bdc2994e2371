import type { Alert, ResolveReason } from '../../../contracts/alerts.ts'

/** Why an alert was resolved, as a person would say it. */
export const RESOLVE_REASON_WORDS: Record<ResolveReason, string> = {
  incident_closed: 'incident closed',
  incident_deleted: 'incident deleted',
  left_area: 'incident left the area',
  below_threshold: "below the area's threshold",
  area_deleted: 'area deleted',
}

export const resolvedWords = (reason: ResolveReason | null) => `resolved: ${reason ? RESOLVE_REASON_WORDS[reason] : 'no longer applies'}`

// Formatters made once (see incident-list.ts): what toLocaleString() writes, and the hour alone
export const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
const HOUR = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const DAY_HOUR = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

/** "14:02" today, "Dec 4, 14:02" on another day: when something happened during a shift. */
export function shortTime(at: Date, now = new Date()): string {
  return (at.toDateString() === now.toDateString() ? HOUR : DAY_HOUR).format(at)
}

/** An alert's state in words: "open", "acknowledged by ana at 14:02 — on my way", "resolved: incident closed". */
export function alertStateWords(alert: Alert, now = new Date()): string {
  if (alert.state === 'open') return 'open'
  if (alert.state === 'resolved') return resolvedWords(alert.resolved_reason)
  const who = alert.acknowledged_by?.username ?? '(deleted user)'
  const when = alert.acknowledged_at ? ` at ${shortTime(new Date(alert.acknowledged_at), now)}` : ''
  return `acknowledged by ${who}${when}${alert.note ? ` — ${alert.note}` : ''}`
}
