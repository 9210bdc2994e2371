import L from 'leaflet'
import { SEVERITIES } from '../../../contracts/severity.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'

export function addLegend(map: L.Map): void {
  const legend = new L.Control({ position: 'bottomleft' })
  legend.onAdd = () => {
    const div = L.DomUtil.create('div', 'legend')
    div.setAttribute('data-testid', 'legend')
    div.innerHTML =
      '<strong>Severity</strong><br>' +
      SEVERITIES.map((s) => `<span class="swatch" style="background:${SEVERITY_COLOR[s]}"></span>${s}`).join('<br>') +
      '<br><small>areas: outline in their threshold colour</small>'
    return div
  }
  legend.addTo(map)
}
