import type { AreaFeature } from '../../../../contracts/features.ts'
import type { Store } from '../../store.ts'
import { SEVERITY_COLOR } from '../../severity-style.ts'
import { escapeHtml } from '../escape-html.ts'

const areaItem = (f: AreaFeature) => {
  const p = f.properties
  return `<li data-testid="area-item" data-area-id="${p.id}">
              <button class="linklike" data-focus-area="${p.id}"><span class="sev-dot" style="background:${SEVERITY_COLOR[p.severity]}"></span>${escapeHtml(p.name)}</button>
              <span class="meta">alerts at ${escapeHtml(p.severity)} and above</span></li>`
}

/** The areas of interest by name, each with its threshold. */
export function mountAreaList(list: HTMLElement, store: Store): { unmount(): void } {
  const render = () => {
    const all = [...store.areas.values()].sort((a, b) => a.properties.name.localeCompare(b.properties.name))
    list.innerHTML = all.length ? all.map(areaItem).join('') : '<li class="empty">No areas of interest yet.</li>'
  }
  store.on('areas', render)
  render()
  return {
    unmount() {
      store.off('areas', render)
    },
  }
}
