import type { AreaFeature, IncidentFeature } from '../../../contracts/features.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'
import { escapeHtml } from './escape-html.ts'

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
  return element
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
