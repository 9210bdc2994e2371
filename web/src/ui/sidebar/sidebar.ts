import type { Store } from '../../store.ts'
import { filtersHtml, mountFilters } from './filters.ts'
import { tabsHtml, mountTabs } from './tabs.ts'
import { alertsPanelHtml, mountAlertsPanel, type AlertsPanelOptions } from './alerts-panel.ts'
import { mountIncidentList } from './incident-list.ts'
import { mountAreaList } from './area-list.ts'

export interface SidebarActions {
  focusIncident(id: number): void
  focusArea(id: number): void
}

/** Filters, then the alert log, the incident list (the same incidents the map shows) and the areas, under tabs. */
export function mountSidebar(aside: HTMLElement, store: Store, alerts: AlertsPanelOptions, actions: SidebarActions): { unmount(): void } {
  aside.innerHTML = `
    ${filtersHtml()}
    ${tabsHtml()}
    <div class="panel">
      ${alertsPanelHtml()}
      <ul class="list" data-panel="incidents" data-testid="incident-list" hidden></ul>
      <ul class="list" data-panel="areas" data-testid="area-list" hidden></ul>
    </div>`
  const element = (selector: string) => aside.querySelector<HTMLElement>(selector)!

  // a click on a name in any list shows it on the map
  const focus = (e: Event) => {
    const target = e.target as HTMLElement
    const incident = target.closest<HTMLElement>('[data-focus]')?.dataset.focus
    if (incident) actions.focusIncident(Number(incident))
    const area = target.closest<HTMLElement>('[data-focus-area]')?.dataset.focusArea
    if (area) actions.focusArea(Number(area))
  }
  aside.addEventListener('click', focus)

  // tabs before the incident list: opening its tab shows it, then fills it
  const parts = [
    mountFilters(element('.filters'), store),
    mountTabs(aside),
    mountAreaList(element('[data-panel=areas]'), store),
    mountAlertsPanel(element('[data-panel=alerts]'), element('[data-testid=alert-count]'), alerts),
    mountIncidentList(element('[data-panel=incidents]'), element('[data-testid=incident-count]'), element('[data-tab=incidents]'), store),
  ]
  return {
    unmount() {
      aside.removeEventListener('click', focus)
      for (const part of parts.reverse()) part.unmount()
      aside.replaceChildren()
    },
  }
}
