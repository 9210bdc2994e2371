import type { AreaFeature, IncidentFeature } from '../../../contracts/features.ts'
import { api, ApiError } from '../api.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'
import { escapeHtml } from './escape-html.ts'
import { historyHtml } from './history-view.ts'

/** Fired (bubbling) by popup content that grew after it opened: the map pans to keep the popup in sight. */
export const POPUP_GREW = 'popup:grew'

export interface PopupAction {
  label: string
  testId: string
  danger?: boolean
  run(): void
}

function popup(title: string, severity: string, rows: [string, string][], actions: PopupAction[]): HTMLElement {
  const div = document.createElement('div')
  div.innerHTML = `<strong><span class="sev-dot" style="background:${SEVERITY_COLOR[severity as keyof typeof SEVERITY_COLOR]}"></span>${escapeHtml(title)}</strong>
    <dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`
  if (actions.length) {
    const bar = document.createElement('div')
    bar.className = 'actions'
    for (const action of actions) {
      const button = document.createElement('button')
      button.textContent = action.label
      button.setAttribute('data-testid', action.testId)
      if (action.danger) button.className = 'danger'
      button.onclick = action.run
      bar.append(button)
    }
    div.append(bar)
  }
  return div
}

export function incidentPopup(incident: IncidentFeature, actions: PopupAction[]): HTMLElement {
  const p = incident.properties
  const element = popup(p.name, p.severity, [
    ['severity', p.severity],
    ['status', p.closed ? 'closed' : 'open'],
    ['description', p.description || '—'],
    ['reported by', p.reporter ?? '(deleted user)'],
    ['reported', new Date(p.created).toLocaleString()],
    ['updated', new Date(p.updated).toLocaleString()],
  ], actions)
  element.setAttribute('data-testid', 'incident-popup')
  element.append(...historyToggle(p.id))
  return element
}

/**
 * A "History" button and the section it opens: the incident's timeline, read
 * from the server each time it is opened (it changes as people work on it).
 */
function historyToggle(id: number): [HTMLButtonElement, HTMLElement] {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'history-toggle'
  button.textContent = 'History'
  button.setAttribute('aria-expanded', 'false')
  button.setAttribute('data-testid', 'incident-history-toggle')
  const section = document.createElement('section')
  section.className = 'history-section'
  section.setAttribute('aria-label', 'History')
  section.setAttribute('data-testid', 'incident-history')
  section.hidden = true
  button.id = `incident-history-${id}`
  section.setAttribute('aria-labelledby', button.id)
  button.onclick = async () => {
    const open = section.hidden
    section.hidden = !open
    button.setAttribute('aria-expanded', String(open))
    if (!open) return
    section.innerHTML = '<p class="empty">Loading…</p>'
    try {
      section.innerHTML = historyHtml((await api.incidentHistory(id)).entries)
    } catch (error) {
      section.innerHTML = `<p class="error">${escapeHtml(error instanceof ApiError ? error.message : String(error))}</p>`
    }
    section.dispatchEvent(new Event(POPUP_GREW, { bubbles: true }))
  }
  return [button, section]
}

export function areaPopup(area: AreaFeature, actions: PopupAction[]): HTMLElement {
  const p = area.properties
  const element = popup(p.name, p.severity, [
    ['alerts at', `${p.severity} and above`],
    ['owner', p.owner ?? '(deleted user)'],
    ['updated', new Date(p.updated).toLocaleString()],
  ], actions)
  element.setAttribute('data-testid', 'area-popup')
  return element
}
