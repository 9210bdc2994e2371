import type { Alert } from '../../../../contracts/alerts.ts'
import { MAX_ALERT_NOTE } from '../../../../contracts/alerts.ts'
import { api, ApiError } from '../../api.ts'
import type { AlertLog, AlertView } from '../../alert-log.ts'
import type { AlertLogReader } from '../../live/alert-log-reader.ts'
import { SEVERITY_COLOR } from '../../severity-style.ts'
import { alertStateWords, DATE_TIME } from '../alert-words.ts'
import { formDialog } from '../dialog.ts'
import { escapeHtml } from '../escape-html.ts'

/** The panel's markup: the view to show, the log, and the button that reads older alerts. */
export const alertsPanelHtml = () => `<div class="alerts" data-panel="alerts" data-testid="alerts-panel">
      <div class="alert-tools">
        <label>Show <select data-testid="alert-view" aria-label="Which alerts to show">
          <option value="all">All</option><option value="open">Open only</option>
        </select></label>
      </div>
      <ul class="list" data-testid="alert-list"></ul>
      <div class="alert-more"><button type="button" data-testid="alerts-load-older" hidden>Load older alerts</button></div>
    </div>`

const alertItem = (a: Alert, canAcknowledge: boolean) => {
  const incident = a.incident
  const name = incident
    ? `<button class="linklike" data-focus="${incident.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[a.severity]}"></span>${escapeHtml(incident.name)}</button>`
    : `<span class="gone"><span class="sev-dot" style="background:${SEVERITY_COLOR[a.severity]}"></span>(deleted incident)</span>`
  const fired = new Date(a.fired)
  const acknowledge = canAcknowledge && a.state === 'open'
    ? `<button type="button" class="acknowledge" data-acknowledge="${a.id}" data-testid="acknowledge-alert">Acknowledge</button>`
    : ''
  // resolved after someone took it: who did stays worth knowing
  const taken = a.state === 'resolved' && a.acknowledged_by
    ? `<span class="meta">acknowledged by ${escapeHtml(a.acknowledged_by.username)}${a.note ? ` — ${escapeHtml(a.note)}` : ''}</span>`
    : ''
  return `<li data-testid="alert-item" data-alert-id="${a.id}" data-incident-id="${incident?.id ?? ''}" data-state="${a.state}" class="alert-item ${a.state}">
      ${name}
      <span>${escapeHtml(a.severity)} in ${escapeHtml(a.area.name)}</span>
      <span class="meta"><time datetime="${escapeHtml(a.fired)}">${DATE_TIME.format(fired)}</time></span>
      <span class="alert-state" data-testid="alert-state">${escapeHtml(alertStateWords(a))}</span>${taken}${acknowledge}</li>`
}

export interface AlertsPanelOptions {
  log: AlertLog
  reader: AlertLogReader
  /** operators and admins: viewers see the log but no Acknowledge button */
  canAcknowledge: boolean
  /** where a failed read shows */
  report(error: unknown): void
}

/**
 * The shared alert log, newest first, with the count of open alerts on its
 * tab. Items are kept by alert id and rebuilt only when their alert changed:
 * a burst of alerts adds items at the top, an acknowledgement elsewhere
 * rewrites one item, and nothing else on the list is touched.
 */
export function mountAlertsPanel(panel: HTMLElement, count: HTMLElement, { log, reader, canAcknowledge, report }: AlertsPanelOptions): { unmount(): void } {
  const list = panel.querySelector<HTMLElement>('[data-testid=alert-list]')!
  const view = panel.querySelector<HTMLSelectElement>('[data-testid=alert-view]')!
  const older = panel.querySelector<HTMLButtonElement>('[data-testid=alerts-load-older]')!
  const shown = new Map<number, { alert: Alert; item: HTMLElement }>()
  const empty = document.createElement('li')
  empty.className = 'empty'

  const render = () => {
    count.textContent = log.openCount === null ? '…' : String(log.openCount)
    count.title = 'open alerts'
    view.value = log.view
    older.hidden = log.olderCursor === null
    const wanted = new Set(log.alerts.map((a) => a.id))
    for (const [id, { item }] of shown) {
      if (wanted.has(id)) continue
      item.remove()
      shown.delete(id)
    }
    // in order, touching only what is new, changed or out of place
    let next = list.firstElementChild
    for (const alert of log.alerts) {
      let entry = shown.get(alert.id)
      if (entry?.alert !== alert) {
        const template = document.createElement('template')
        template.innerHTML = alertItem(alert, canAcknowledge)
        const item = template.content.firstElementChild as HTMLElement
        if (entry) entry.item.replaceWith(item)
        if (next === entry?.item) next = item
        entry = { alert, item }
        shown.set(alert.id, entry)
      }
      if (entry.item !== next) list.insertBefore(entry.item, next)
      else next = next.nextElementSibling
    }
    empty.textContent = log.view === 'open' ? 'No open alerts.' : 'No alerts yet. Alerts appear here, newest first.'
    if (log.alerts.length) empty.remove()
    else list.append(empty)
  }

  const acknowledge = async (id: number) => {
    const alert = log.get(id)
    if (!alert) return
    const what = `${alert.incident?.name ?? '(deleted incident)'} in ${alert.area.name}`
    const saved = await formDialog(`Acknowledge alert: ${what}`, [
      { name: 'note', label: `Note (optional, up to ${MAX_ALERT_NOTE} characters)`, kind: 'textarea', maxLength: MAX_ALERT_NOTE },
    ], async (values) => {
      try {
        log.upsert(await api.acknowledgeAlert(id, values.note?.trim() ?? ''))
      } catch (error) {
        // someone else took it first (or it was resolved): the dialog says
        // who and when; the item shows it as it now stands
        if (error instanceof ApiError && error.status === 409) api.alert(id).then((a) => log.upsert(a), () => {})
        throw error
      }
    }, 'Acknowledge')
    if (saved) list.querySelector<HTMLElement>(`[data-alert-id="${id}"] button`)?.focus()
  }

  const clicked = (e: Event) => {
    const id = (e.target as HTMLElement).closest<HTMLElement>('[data-acknowledge]')?.dataset.acknowledge
    if (id) void acknowledge(Number(id))
  }
  const viewChosen = () => void reader.reload(view.value as AlertView).catch(report)
  const readOlder = () => {
    older.disabled = true
    reader.loadOlder()
      .catch(report)
      .finally(() => (older.disabled = false))
  }

  list.addEventListener('click', clicked)
  view.addEventListener('change', viewChosen)
  older.addEventListener('click', readOlder)
  log.addEventListener('change', render)
  render()
  return {
    unmount() {
      log.removeEventListener('change', render)
      older.removeEventListener('click', readOlder)
      view.removeEventListener('change', viewChosen)
      list.removeEventListener('click', clicked)
    },
  }
}
