import type { AreaFilter } from '../../../../contracts/deliveries.ts'
import type { Store } from '../../store.ts'
import { escapeHtml } from '../escape-html.ts'
import { areaChoices, areaFilterOf } from './area-filter.ts'

/** areas listed at once; the search narrows the rest down (the chosen ones are always listed first) */
const LISTED_AT_MOST = 200

export interface AreaPicker {
  /** the filter as chosen, or why it can't be saved */
  value(): ReturnType<typeof areaFilterOf>
  unmount(): void
}

let pickers = 0

/**
 * "All areas", or the areas chosen by name from the ones the dashboard
 * knows: a radio pair and, for the second, a list of checkboxes with a
 * search box. Follows the store, so an area drawn or deleted meanwhile
 * shows at once.
 */
export function mountAreaPicker(container: HTMLElement, store: Store, initial: AreaFilter): AreaPicker {
  const name = `area-scope-${++pickers}`
  const chosen = new Set(initial === 'all' ? [] : initial)
  const fieldset = document.createElement('fieldset')
  fieldset.className = 'area-picker'
  fieldset.dataset.testid = 'area-picker'
  fieldset.innerHTML = `
    <legend>Areas</legend>
    <label class="inline"><input type="radio" name="${name}" value="all"> All areas</label>
    <label class="inline"><input type="radio" name="${name}" value="chosen"> Only the areas chosen below</label>
    <div class="area-choices">
      <label>Find an area <input type="search" data-testid="area-search" autocomplete="off"></label>
      <ul role="list" aria-label="Areas to choose from"></ul>
      <p class="meta" aria-live="polite" data-testid="areas-chosen"></p>
    </div>`
  const [all, some] = fieldset.querySelectorAll<HTMLInputElement>(`input[name="${name}"]`)
  const choices = fieldset.querySelector<HTMLElement>('.area-choices')!
  const search = fieldset.querySelector<HTMLInputElement>('input[type=search]')!
  const list = fieldset.querySelector('ul')!
  const count = fieldset.querySelector<HTMLElement>('[data-testid=areas-chosen]')!
  ;(initial === 'all' ? all! : some!).checked = true

  const render = () => {
    const offered = areaChoices([...store.areas.values()].map((a) => ({ id: a.properties.id, name: a.properties.name })), chosen, search.value)
    list.innerHTML = offered.length
      ? offered.slice(0, LISTED_AT_MOST).map((c) => `<li><label class="inline${c.gone ? ' gone' : ''}"><input type="checkbox" value="${c.id}"${c.chosen ? ' checked' : ''}> ${escapeHtml(c.name)}</label></li>`).join('') +
        (offered.length > LISTED_AT_MOST ? `<li class="meta">${offered.length - LISTED_AT_MOST} more: narrow them down by name</li>` : '')
      : `<li class="meta">${store.areas.size ? 'No area by that name.' : 'No areas of interest yet.'}</li>`
    renderCount()
  }
  const renderCount = () => (count.textContent = `${chosen.size} chosen`)
  const showChoices = () => {
    const open = some!.checked
    choices.hidden = !open
    for (const input of choices.querySelectorAll('input')) input.disabled = !open
  }
  list.addEventListener('change', (event) => {
    const box = event.target as HTMLInputElement
    if (box.checked) chosen.add(Number(box.value))
    else chosen.delete(Number(box.value))
    renderCount()
  })
  search.addEventListener('input', render)
  all!.addEventListener('change', showChoices)
  some!.addEventListener('change', showChoices)
  store.on('areas', render)
  container.append(fieldset)
  render()
  showChoices()

  return {
    value: () => areaFilterOf(all!.checked, chosen),
    unmount() {
      store.off('areas', render)
      fieldset.remove()
    },
  }
}
