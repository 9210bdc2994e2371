import type { EscalationBody } from '../../contracts/deliveries.ts'
import type { AlertedArea } from '../../contracts/live.ts'
import type { IncidentFeature } from '../../contracts/features.ts'
import type { Mail } from './mailer.ts'
import { escapeHtml as escape } from '../http/html-page.ts'

// The words of an alert mail, text and HTML: what happened, where, which
// areas, a link that opens the dashboard on the incident, and one
// acknowledge link per alert (the key is made by the caller, one per alert).

/** What the outbox trigger stored for an `alert` (contracts/live.ts), and what the escalation job stores. */
export type AlertMailPayload =
  | { type: 'alert'; feature: IncidentFeature; areas_of_interest: AlertedArea[] }
  | EscalationBody

export interface MailLinks {
  publicUrl: string
  /** alert id → the acknowledge link's key */
  ackKeys: Map<number, string>
}


export const incidentLink = (publicUrl: string, incidentId: number) => `${publicUrl}/?incident=${incidentId}`
export const acknowledgeLink = (publicUrl: string, key: string) => `${publicUrl}/ack/${key}`

/** The alert ids a mail offers to acknowledge. */
export function alertIdsOf(payload: AlertMailPayload): number[] {
  return payload.type === 'alert' ? payload.areas_of_interest.map((a) => a.alert_id) : [payload.alert.id]
}

export function composeAlertMail(payload: AlertMailPayload, to: string, messageId: string, links: MailLinks): Mail {
  const lines: string[] = []
  const html: string[] = []
  let subject: string
  const ack = (alertId: number) => {
    const key = links.ackKeys.get(alertId)
    return key ? acknowledgeLink(links.publicUrl, key) : undefined
  }
  if (payload.type === 'alert') {
    const p = payload.feature.properties
    const [lon, lat] = payload.feature.geometry.coordinates as [number, number]
    const where = `${lat.toFixed(5)}, ${lon.toFixed(5)}`
    const areaNames = payload.areas_of_interest.map((a) => a.name).join(', ')
    subject = `[${p.severity.toUpperCase()}] ${p.name} in ${areaNames}`
    const open = incidentLink(links.publicUrl, p.id)
    lines.push(`${p.severity.toUpperCase()} incident: ${p.name}`, `At ${where} (latitude, longitude)`, `Inside: ${areaNames}`)
    if (p.description) lines.push('', p.description)
    lines.push('', `Open it on the map: ${open}`)
    html.push(`<p><strong>${escape(p.severity.toUpperCase())}</strong> incident: <strong>${escape(p.name)}</strong></p>`,
      `<p>At ${escape(where)} (latitude, longitude)</p>`)
    if (p.description) html.push(`<p>${escape(p.description)}</p>`)
    html.push(`<p><a href="${escape(open)}">Open it on the map</a></p>`, '<ul>')
    for (const area of payload.areas_of_interest) {
      const link = ack(area.alert_id)
      if (link) lines.push(`Acknowledge the alert for ${area.name}: ${link}`)
      html.push(`<li>${escape(area.name)} (alerts at ${escape(area.severity)} and above)${link ? ` — <a href="${escape(link)}">Acknowledge</a>` : ''}</li>`)
    }
    html.push('</ul>')
  } else {
    const { alert, unacknowledged_minutes: minutes } = payload
    const name = alert.incident?.name ?? 'a deleted incident'
    subject = `Unacknowledged for ${minutes} minutes: [${alert.severity.toUpperCase()}] ${name} in ${alert.area.name}`
    lines.push(`Nobody has acknowledged this alert for ${minutes} minutes.`, `${alert.severity.toUpperCase()} incident: ${name}`, `Area: ${alert.area.name}`, `Fired: ${alert.fired}`)
    html.push(`<p>Nobody has acknowledged this alert for <strong>${minutes} minutes</strong>.</p>`,
      `<p><strong>${escape(alert.severity.toUpperCase())}</strong> incident: <strong>${escape(name)}</strong><br>Area: ${escape(alert.area.name)}<br>Fired: ${escape(alert.fired)}</p>`)
    if (alert.incident) {
      const open = incidentLink(links.publicUrl, alert.incident.id)
      lines.push('', `Open it on the map: ${open}`)
      html.push(`<p><a href="${escape(open)}">Open it on the map</a></p>`)
    }
    const link = ack(alert.id)
    if (link) {
      lines.push(`Acknowledge it: ${link}`)
      html.push(`<p><a href="${escape(link)}">Acknowledge</a></p>`)
    }
  }
  const why = payload.type === 'alert'
    ? 'You get these mails because of your alert subscription in the incident tracker.'
    : 'You get this mail because you are an escalation contact of this area in the incident tracker.'
  lines.push('', why)
  html.push(`<p style="color:#666">${why}</p>`)
  return { to, subject, text: lines.join('\n'), html: html.join('\n'), messageId }
}
