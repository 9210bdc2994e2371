import L from 'leaflet'
import { filtersOn, noFilters, type Store } from '../store.ts'
import { atMostEvery } from '../ui/at-most-every.ts'
import { incidentCount } from '../ui/incident-count.ts'

/**
 * On the map, while a filter is on: that it is, how many incidents it lets
 * through ("12 of 5 011 incidents shown"), and the way back to all of them.
 * Someone looking at the map alone must not take a filtered map for a quiet
 * one. Counted at most twice a second, as the Incidents list is.
 */
export function addFilterBadge(map: L.Map, store: Store): { remove(): void } {
  const control = new L.Control({ position: 'topright' })
  const div = L.DomUtil.create('div', 'filter-badge')
  div.setAttribute('role', 'status')
  div.dataset.testid = 'map-filter-status'
  div.hidden = true
  div.innerHTML = '<span></span> <button type="button" data-testid="map-clear-filters">Clear filters</button>'
  L.DomEvent.disableClickPropagation(div)
  const words = div.querySelector('span')!
  div.querySelector('button')!.addEventListener('click', () => store.setFilters(noFilters()))
  control.onAdd = () => div

  const { request: render, cancel } = atMostEvery(500, () => {
    const on = filtersOn(store.filters)
    div.hidden = !on
    if (on) words.textContent = `Filter on: ${incidentCount(store.visibleIncidents().length, store.incidents.size, true)} incidents shown`
  })
  store.on('filters', render)
  store.on('incidents', render)
  control.addTo(map)
  render()
  return {
    remove() {
      cancel()
      store.off('filters', render)
      store.off('incidents', render)
      control.remove()
    },
  }
}
