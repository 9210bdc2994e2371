import { SEVERITIES, type Severity } from '../../../contracts/severity.ts'
import type { IncidentFeature } from '../../../contracts/features.ts'
import type { AlertEntry, Store, TimeWindow } from '../store.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'
import { escapeHtml } from './escape-html.ts'

const LIST_LIMIT = 300

// What toLocaleString() and toLocaleTimeString() write, with the formatter
// made once: those methods build a new one on every call, which made
// rendering the 300 list items take a few hundred ms on a slow machine.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
const TIME = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: 'numeric', second: 'numeric' })

/** Filters, then the alerts panel and the incident list (the same incidents the map shows). */
export function renderSidebar(aside: HTMLElement, store: Store, focusIncident: (id: number) => void, focusArea: (id: number) => void): void {
  aside.innerHTML = `
    <section class="filters" aria-label="Filters">
      <div class="sev">${SEVERITIES.map(
        (s) => `<label><input type="checkbox" name="sev" value="${s}" checked><span class="sev-dot" style="background:${SEVERITY_COLOR[s]}"></span>${s}</label>`,
      ).join('')}</div>
      <div class="row">
        <label style="display:flex;gap:4px;align-items:center;color:inherit"><input type="checkbox" name="closed" checked data-testid="show-closed"> show closed</label>
        <select name="window" aria-label="Time window" data-testid="time-window">
          <option value="all">all time</option><option value="day">last 24 h</option><option value="hour">last hour</option>
        </select>
      </div>
    </section>
    <div class="tabs" role="tablist">
      <button role="tab" aria-selected="true" data-tab="alerts" data-testid="tab-alerts">Alerts <span data-testid="alert-count">0</span></button>
      <button role="tab" aria-selected="false" data-tab="incidents" data-testid="tab-incidents">Incidents <span data-testid="incident-count">0</span></button>
      <button role="tab" aria-selected="false" data-tab="areas" data-testid="tab-areas">Areas</button>
    </div>
    <div class="panel">
      <ul class="list" data-panel="alerts" data-testid="alerts-panel"></ul>
      <ul class="list" data-panel="incidents" data-testid="incident-list" hidden></ul>
      <ul class="list" data-panel="areas" data-testid="area-list" hidden></ul>
    </div>`

  aside.querySelectorAll<HTMLInputElement>('input[name=sev]').forEach((box) =>
    box.addEventListener('change', () => {
      const chosen = [...aside.querySelectorAll<HTMLInputElement>('input[name=sev]:checked')].map((b) => b.value as Severity)
      store.setFilters({ severities: new Set(chosen) })
    }),
  )
  aside.querySelector<HTMLInputElement>('input[name=closed]')!.addEventListener('change', (e) =>
    store.setFilters({ showClosed: (e.target as HTMLInputElement).checked }),
  )
  aside.querySelector<HTMLSelectElement>('select[name=window]')!.addEventListener('change', (e) =>
    store.setFilters({ window: (e.target as HTMLSelectElement).value as TimeWindow }),
  )
  aside.querySelectorAll<HTMLButtonElement>('[role=tab]').forEach((tab) =>
    tab.addEventListener('click', () => {
      aside.querySelectorAll('[role=tab]').forEach((t) => t.setAttribute('aria-selected', String(t === tab)))
      aside.querySelectorAll<HTMLElement>('[data-panel]').forEach((p) => (p.hidden = p.dataset.panel !== tab.dataset.tab))
    }),
  )

  const alertsList = aside.querySelector<HTMLElement>('[data-panel=alerts]')!
  const incidentList = aside.querySelector<HTMLElement>('[data-panel=incidents]')!
  const alertCount = aside.querySelector<HTMLElement>('[data-testid=alert-count]')!
  const incidentCount = aside.querySelector<HTMLElement>('[data-testid=incident-count]')!

  // Alerts arrive one at a time and only the newest ALERT_HISTORY are kept
  // (store.ts): each new one is added at the top and the oldest item dropped,
  // rather than the whole list rebuilt for every alert.
  const alertItem = (a: AlertEntry) => {
    const p = a.incident.properties
    return `<li data-testid="alert-item" data-incident-id="${p.id}">
      <button class="linklike" data-focus="${p.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[p.severity]}"></span>${escapeHtml(p.name)}</button>
      <span>${escapeHtml(p.severity)} in ${a.areas.map((x) => escapeHtml(x.name)).join(', ')}</span>
      <span class="meta"><time datetime="${a.at.toISOString()}">${TIME.format(a.at)}</time></span></li>`
  }
  let newestShown: number | undefined
  const renderAlerts = () => {
    alertCount.textContent = String(store.alertsReceived)
    if (!store.alerts.length) {
      alertsList.innerHTML = '<li class="empty">No alerts yet. Alerts appear here, newest first.</li>'
      return
    }
    if (newestShown === undefined) alertsList.innerHTML = ''
    const fresh = store.alerts.findIndex((a) => a.event === newestShown)
    const added = store.alerts.slice(0, fresh < 0 ? store.alerts.length : fresh)
    if (added.length) alertsList.insertAdjacentHTML('afterbegin', added.map(alertItem).join(''))
    newestShown = store.alerts[0]!.event
    const items = alertsList.querySelectorAll('[data-testid=alert-item]')
    for (let i = items.length - 1; i >= store.alerts.length; i--) items[i]!.remove()
    const older = store.alertsReceived - store.alerts.length
    let note = alertsList.querySelector<HTMLElement>('[data-testid=alerts-older]')
    if (older > 0) {
      note ??= alertsList.appendChild(Object.assign(document.createElement('li'), { className: 'empty' }))
      note.dataset.testid = 'alerts-older'
      note.textContent = `Showing the newest ${store.alerts.length} of ${store.alertsReceived} alerts.`
    }
  }

  // Filled only while it can be seen: under a stream of live updates it
  // would otherwise be rebuilt twice a second behind the Alerts tab. The
  // count is always kept current.
  let listStale = false
  const fillIncidentList = (visible: IncidentFeature[]) => {
    listStale = false
    const newest = visible.slice(-LIST_LIMIT).reverse() // the store keeps id order: newest last
    incidentList.innerHTML = visible.length
      ? newest
          .map((f) => {
            const p = f.properties
            return `<li data-testid="incident-item" data-incident-id="${p.id}" data-closed="${p.closed}" class="${p.closed ? 'closed' : ''}">
              <button class="linklike" data-focus="${p.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[p.severity]}"></span>${escapeHtml(p.name)}</button>
              <span class="meta">${escapeHtml(p.severity)}${p.closed ? ' · closed' : ''} · ${DATE_TIME.format(Date.parse(p.created))}</span></li>`
          })
          .join('') + (visible.length > LIST_LIMIT ? `<li class="empty">and ${visible.length - LIST_LIMIT} more: narrow the filters</li>` : '')
      : '<li class="empty">No incidents match the filters.</li>'
  }

  // at most twice a second, however fast live updates come (with 50 000
  // incidents, filtering them is not free); a change after a quiet spell
  // shows at once
  let pending = false
  let last = 0
  const renderIncidents = () => {
    if (pending) return
    pending = true
    setTimeout(() => {
      pending = false
      last = performance.now()
      const visible = store.visibleIncidents()
      incidentCount.textContent = String(visible.length)
      if (incidentList.hidden) listStale = true
      else fillIncidentList(visible)
    }, Math.max(0, 500 - (performance.now() - last)))
  }
  aside.querySelector('[data-tab=incidents]')!.addEventListener('click', () => {
    if (listStale) fillIncidentList(store.visibleIncidents())
  })

  const areaList = aside.querySelector<HTMLElement>('[data-panel=areas]')!
  const renderAreas = () => {
    const all = [...store.areas.values()].sort((a, b) => a.properties.name.localeCompare(b.properties.name))
    areaList.innerHTML = all.length
      ? all
          .map((f) => {
            const p = f.properties
            return `<li data-testid="area-item" data-area-id="${p.id}">
              <button class="linklike" data-focus-area="${p.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[p.severity]}"></span>${escapeHtml(p.name)}</button>
              <span class="meta">alerts at ${escapeHtml(p.severity)} and above</span></li>`
          })
          .join('')
      : '<li class="empty">No areas of interest yet.</li>'
  }

  aside.addEventListener('click', (e) => {
    const target = e.target as HTMLElement
    const incident = target.closest<HTMLElement>('[data-focus]')?.dataset.focus
    if (incident) focusIncident(Number(incident))
    const area = target.closest<HTMLElement>('[data-focus-area]')?.dataset.focusArea
    if (area) focusArea(Number(area))
  })
  store.on('areas', renderAreas)
  renderAreas()
  store.on('alerts', renderAlerts)
  store.on('incidents', renderIncidents)
  store.on('filters', renderIncidents)
  renderAlerts()
  renderIncidents()
}
