import type { IncidentFeature } from '../../../../contracts/features.ts'
import { filtersOn, type Store } from '../../store.ts'
import { atMostEvery } from '../at-most-every.ts'
import { incidentCount } from '../incident-count.ts'
import { SEVERITY_COLOR } from '../../severity-style.ts'
import { escapeHtml } from '../escape-html.ts'

const LIST_LIMIT = 300

// What toLocaleString() writes, with the formatter made once: that method
// (and toLocaleTimeString()) builds a new one on every call, which made
// rendering the LIST_LIMIT list items take a noticeable while on a slow
// machine.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })

const incidentItem = (f: IncidentFeature) => {
  const p = f.properties
  return `<li data-testid="incident-item" data-incident-id="${p.id}" data-closed="${p.closed}" class="${p.closed ? 'closed' : ''}">
              <button class="linklike" data-focus="${p.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[p.severity]}"></span>${escapeHtml(p.name)}</button>
              <span class="meta">${escapeHtml(p.severity)}${p.closed ? ' · closed' : ''} · ${DATE_TIME.format(Date.parse(p.created))}</span></li>`
}

/**
 * The incidents the filters let through (the same the map shows), newest
 * first, and their count: "12 of 5 011" with a filter on.
 *
 * @param tab the tab that shows the list: the list is filled only while it
 *   can be seen (under a stream of live updates it would otherwise be rebuilt
 *   twice a second behind the Alerts tab), and when the tab is opened
 */
export function mountIncidentList(list: HTMLElement, count: HTMLElement, tab: HTMLElement, store: Store): { unmount(): void } {
  let stale = false
  const fill = (visible: IncidentFeature[]) => {
    stale = false
    const newest = visible.slice(-LIST_LIMIT).reverse() // the store keeps id order: newest last
    list.innerHTML = visible.length
      ? newest.map(incidentItem).join('') + (visible.length > LIST_LIMIT ? `<li class="empty">and ${visible.length - LIST_LIMIT} more: narrow the filters</li>` : '')
      : '<li class="empty">No incidents match the filters.</li>'
  }

  // at most twice a second, however fast live updates come (with 50 000
  // incidents, filtering them is not free); a change after a quiet spell
  // shows at once. The count is always kept current.
  const { request: render, cancel } = atMostEvery(500, () => {
    const visible = store.visibleIncidents()
    count.textContent = incidentCount(visible.length, store.incidents.size, filtersOn(store.filters))
    if (list.hidden) stale = true
    else fill(visible)
  })
  const shown = () => {
    if (stale) fill(store.visibleIncidents())
  }

  tab.addEventListener('click', shown)
  store.on('incidents', render)
  store.on('filters', render)
  render()
  return {
    unmount() {
      cancel()
      tab.removeEventListener('click', shown)
      store.off('incidents', render)
      store.off('filters', render)
    },
  }
}
