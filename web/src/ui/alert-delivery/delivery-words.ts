import type { Delivery } from '../../../../contracts/deliveries.ts'
import type { JobFrame } from '../../../../contracts/jobs.ts'

/**
 * The notice for a retried delivery's job, once it has ended: "Retry of
 * delivery 12: sent", or "… failed: <why>". Nothing while it is queued or
 * running, and nothing for other kinds of job (invitations have their own).
 */
export function retryNotice({ job }: JobFrame): string | undefined {
  if (job.kind !== 'delivery_retry') return undefined
  const which = job.subject_id === undefined ? 'a delivery' : `delivery ${job.subject_id}`
  if (job.status === 'done') return `Retry of ${which}: sent`
  if (job.status === 'failed') return `Retry of ${which}: failed: ${job.error ?? 'no reason given'}`
  return undefined
}

export interface TimeWords {
  label: string
  iso: string
  /** in the reader's clock */
  text: string
}

/** How a delivery reads in the list: what it is, the attempts, and when it was created, last tried and sent. */
export function deliveryWords(d: Delivery, locale?: string): { what: string; attempts: string; times: TimeWords[] } {
  const time = (label: string, iso: string) => ({ label, iso, text: new Date(iso).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' }) })
  const what = `${d.kind === 'alert_update' ? 'alert update' : d.kind} by ${d.channel}${d.alert_id === null ? '' : ` (alert ${d.alert_id})`}`
  const times = [time('created', d.created)]
  if (d.last_attempt) times.push(time('last tried', d.last_attempt))
  if (d.sent) times.push(time('sent', d.sent))
  return { what, attempts: d.attempts === 1 ? '1 attempt' : `${d.attempts} attempts`, times }
}
