/** The tabs' markup: alerts (shown first), incidents, areas, with the counts of open alerts and of incidents shown. */
export const tabsHtml = () => `<div class="tabs" role="tablist">
      <button role="tab" aria-selected="true" data-tab="alerts" data-testid="tab-alerts">Alerts <span data-testid="alert-count" class="count">…</span> open</button>
      <button role="tab" aria-selected="false" data-tab="incidents" data-testid="tab-incidents">Incidents <span data-testid="incident-count">0</span></button>
      <button role="tab" aria-selected="false" data-tab="areas" data-testid="tab-areas">Areas</button>
    </div>`

/** A click on a tab selects it and shows its panel (the `[data-panel]` of the same name) alone. */
export function mountTabs(aside: HTMLElement): { unmount(): void } {
  const tabs = aside.querySelectorAll<HTMLButtonElement>('[role=tab]')
  const select = (e: Event) => {
    const tab = e.currentTarget as HTMLButtonElement
    tabs.forEach((t) => t.setAttribute('aria-selected', String(t === tab)))
    aside.querySelectorAll<HTMLElement>('[data-panel]').forEach((p) => (p.hidden = p.dataset.panel !== tab.dataset.tab))
  }
  tabs.forEach((tab) => tab.addEventListener('click', select))
  return {
    unmount() {
      tabs.forEach((tab) => tab.removeEventListener('click', select))
    },
  }
}
