import { SEVERITIES, type Severity } from '../../../../contracts/severity.ts'
import type { Store, TimeWindow } from '../../store.ts'
import { SEVERITY_COLOR } from '../../severity-style.ts'

/** The filters' markup: a box per severity, closed shown or not, and the time window. */
export const filtersHtml = () => `<section class="filters" aria-label="Filters">
      <div class="sev">${SEVERITIES.map(
        (s) => `<label><input type="checkbox" name="sev" value="${s}" checked><span class="sev-dot" style="background:${SEVERITY_COLOR[s]}"></span>${s}</label>`,
      ).join('')}</div>
      <div class="row">
        <label style="display:flex;gap:4px;align-items:center;color:inherit"><input type="checkbox" name="closed" checked data-testid="show-closed"> show closed</label>
        <select name="window" aria-label="Time window" data-testid="time-window">
          <option value="all">all time</option><option value="day">last 24 h</option><option value="hour">last hour</option>
        </select>
      </div>
    </section>`

/** Sets the store's filters from the filters' controls, as they change. */
export function mountFilters(section: HTMLElement, store: Store): { unmount(): void } {
  const severities = () => {
    const chosen = [...section.querySelectorAll<HTMLInputElement>('input[name=sev]:checked')].map((b) => b.value as Severity)
    store.setFilters({ severities: new Set(chosen) })
  }
  const closed = (e: Event) => store.setFilters({ showClosed: (e.target as HTMLInputElement).checked })
  const timeWindow = (e: Event) => store.setFilters({ window: (e.target as HTMLSelectElement).value as TimeWindow })

  const boxes = section.querySelectorAll<HTMLInputElement>('input[name=sev]')
  const closedBox = section.querySelector<HTMLInputElement>('input[name=closed]')!
  const windowSelect = section.querySelector<HTMLSelectElement>('select[name=window]')!
  boxes.forEach((box) => box.addEventListener('change', severities))
  closedBox.addEventListener('change', closed)
  windowSelect.addEventListener('change', timeWindow)
  return {
    unmount() {
      boxes.forEach((box) => box.removeEventListener('change', severities))
      closedBox.removeEventListener('change', closed)
      windowSelect.removeEventListener('change', timeWindow)
    },
  }
}
