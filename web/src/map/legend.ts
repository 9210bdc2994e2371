import L from 'leaflet'
import { SEVERITIES } from '../../../contracts/severity.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'
import { PHONE_WIDTH } from '../ui/header-menu.ts'

/**
 * The colours' key, as a disclosure: open on a wide screen, closed to one
 * line on a phone, where open it would cover a third of the map.
 */
export function addLegend(map: L.Map): void {
  const legend = new L.Control({ position: 'bottomleft' })
  legend.onAdd = () => {
    const details = L.DomUtil.create('details', 'legend') as HTMLDetailsElement
    details.setAttribute('data-testid', 'legend')
    details.open = !matchMedia(PHONE_WIDTH).matches
    details.innerHTML =
      '<summary>Severity</summary>' +
      SEVERITIES.map((s) => `<span class="swatch" style="background:${SEVERITY_COLOR[s]}"></span>${s}`).join('<br>') +
      '<br><small>areas: outline in their threshold colour</small>'
    // a click on the key is not a click on the map (which would report an incident there)
    L.DomEvent.disableClickPropagation(details)
    return details
  }
  legend.addTo(map)
}
