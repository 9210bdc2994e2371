import { SEVERITIES, type Severity } from '../../../../contracts/severity.ts'
import { MAX_SEARCH_LENGTH } from '../../../../contracts/incident-search.ts'
import { filtersOn, noFilters, type Store, type TimeWindow } from '../../store.ts'
import { SEVERITY_COLOR } from '../../severity-style.ts'

/** The filters' markup: a search box, a box per severity, closed shown or not, the time window, and the way back to no filter. */
export const filtersHtml = () => `<section class="filters" aria-label="Filters" data-testid="filters">
      <input type="search" name="search" maxlength="${MAX_SEARCH_LENGTH}" placeholder="Search names and descriptions"
        aria-label="Search incidents by name or description" data-testid="incident-search" autocomplete="off">
      <div class="sev">${SEVERITIES.map(
        (s) => `<label><input type="checkbox" name="sev" value="${s}" checked><span class="sev-dot" style="background:${SEVERITY_COLOR[s]}"></span>${s}</label>`,
      ).join('')}</div>
      <div class="row">
        <label style="display:flex;gap:4px;align-items:center;color:inherit"><input type="checkbox" name="closed" checked data-testid="show-closed"> show closed</label>
        <select name="window" aria-label="Time window" data-testid="time-window">
          <option value="all">all time</option><option value="day">last 24 h</option><option value="hour">last hour</option>
        </select>
        <button type="button" class="clear-filters" data-testid="clear-filters" hidden>Clear filters</button>
      </div>
    </section>`

/** Typing pauses this long before the search is asked for: one question per word, not per key. */
const TYPING_PAUSE_MS = 250

/**
 * Sets the store's filters from the filters' controls as they change, and
 * the controls from the store's filters (a link's filters, Clear filters).
 * With a filter on, the section is marked and offers Clear filters.
 */
export function mountFilters(section: HTMLElement, store: Store): { unmount(): void } {
  const search = section.querySelector<HTMLInputElement>('input[name=search]')!
  const boxes = section.querySelectorAll<HTMLInputElement>('input[name=sev]')
  const closedBox = section.querySelector<HTMLInputElement>('input[name=closed]')!
  const windowSelect = section.querySelector<HTMLSelectElement>('select[name=window]')!
  const clear = section.querySelector<HTMLButtonElement>('[data-testid=clear-filters]')!

  const severities = () => {
    const chosen = [...section.querySelectorAll<HTMLInputElement>('input[name=sev]:checked')].map((b) => b.value as Severity)
    store.setFilters({ severities: new Set(chosen) })
  }
  const closed = () => store.setFilters({ showClosed: closedBox.checked })
  const timeWindow = () => store.setFilters({ window: windowSelect.value as TimeWindow })
  let typing: ReturnType<typeof setTimeout> | undefined
  const typed = () => {
    clearTimeout(typing)
    typing = setTimeout(() => store.setFilters({ search: search.value.trim() }), TYPING_PAUSE_MS)
  }
  // Enter searches at once
  const submitted = (e: KeyboardEvent) => {
    if (e.key !== 'Enter') return
    clearTimeout(typing)
    store.setFilters({ search: search.value.trim() })
  }
  const cleared = () => {
    clearTimeout(typing)
    store.setFilters(noFilters())
    search.focus()
  }

  const show = () => {
    const f = store.filters
    // left alone while someone types in it
    if (document.activeElement !== search && search.value.trim() !== f.search) search.value = f.search
    boxes.forEach((box) => (box.checked = f.severities.has(box.value as Severity)))
    closedBox.checked = f.showClosed
    windowSelect.value = f.window
    const on = filtersOn(f)
    section.classList.toggle('on', on)
    clear.hidden = !on
  }

  search.addEventListener('input', typed)
  search.addEventListener('keydown', submitted)
  boxes.forEach((box) => box.addEventListener('change', severities))
  closedBox.addEventListener('change', closed)
  windowSelect.addEventListener('change', timeWindow)
  clear.addEventListener('click', cleared)
  store.on('filters', show)
  show()
  return {
    unmount() {
      clearTimeout(typing)
      store.off('filters', show)
      clear.removeEventListener('click', cleared)
      search.removeEventListener('input', typed)
      search.removeEventListener('keydown', submitted)
      boxes.forEach((box) => box.removeEventListener('change', severities))
      closedBox.removeEventListener('change', closed)
      windowSelect.removeEventListener('change', timeWindow)
    },
  }
}
