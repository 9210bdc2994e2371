import type { AlertEntry, Store } from '../../store.ts'
import { SEVERITY_COLOR } from '../../severity-style.ts'
import { escapeHtml } from '../escape-html.ts'

// What toLocaleTimeString() writes, with the formatter made once (see incident-list.ts)
const TIME = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: 'numeric', second: 'numeric' })

const alertItem = (a: AlertEntry) => {
  const p = a.incident.properties
  return `<li data-testid="alert-item" data-incident-id="${p.id}">
      <button class="linklike" data-focus="${p.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[p.severity]}"></span>${escapeHtml(p.name)}</button>
      <span>${escapeHtml(p.severity)} in ${a.areas.map((x) => escapeHtml(x.name)).join(', ')}</span>
      <span class="meta"><time datetime="${a.at.toISOString()}">${TIME.format(a.at)}</time></span></li>`
}

/**
 * The alerts received, newest first, and their count. Alerts arrive one at a
 * time and only the newest ALERT_HISTORY are kept (store.ts): each new one is
 * added at the top and the oldest item dropped, rather than the whole list
 * rebuilt for every alert.
 */
export function mountAlertsPanel(list: HTMLElement, count: HTMLElement, store: Store): { unmount(): void } {
  let newestShown: number | undefined
  const render = () => {
    count.textContent = String(store.alertsReceived)
    if (!store.alerts.length) {
      list.innerHTML = '<li class="empty">No alerts yet. Alerts appear here, newest first.</li>'
      return
    }
    if (newestShown === undefined) list.innerHTML = ''
    const fresh = store.alerts.findIndex((a) => a.event === newestShown)
    const added = store.alerts.slice(0, fresh < 0 ? store.alerts.length : fresh)
    if (added.length) list.insertAdjacentHTML('afterbegin', added.map(alertItem).join(''))
    newestShown = store.alerts[0]!.event
    const items = list.querySelectorAll('[data-testid=alert-item]')
    for (let i = items.length - 1; i >= store.alerts.length; i--) items[i]!.remove()
    const older = store.alertsReceived - store.alerts.length
    let note = list.querySelector<HTMLElement>('[data-testid=alerts-older]')
    if (older > 0) {
      note ??= list.appendChild(Object.assign(document.createElement('li'), { className: 'empty' }))
      note.dataset.testid = 'alerts-older'
      note.textContent = `Showing the newest ${store.alerts.length} of ${store.alertsReceived} alerts.`
    }
  }
  store.on('alerts', render)
  render()
  return {
    unmount() {
      store.off('alerts', render)
    },
  }
}
