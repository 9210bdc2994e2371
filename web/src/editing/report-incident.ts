import L from 'leaflet'
import { DEFAULT_SEVERITY, type Severity } from '../../../contracts/severity.ts'
import { api } from '../api.ts'
import { formDialog } from '../ui/dialog.ts'
import type { EditingContext } from './incident-editing.ts'
import { incidentFields } from './forms.ts'

const DECIMALS = 5 // ~1 m

/** "45.20000, 10.30000": latitude first, as people say a place. */
export function placeWords(at: L.LatLng): string {
  return `${at.lat.toFixed(DECIMALS)}, ${at.lng.toFixed(DECIMALS)}`
}

/**
 * "Report incident": the place first, then the form. The place is the map's
 * centre (marked, following the map as it pans) until the user taps or
 * clicks the map, or types a latitude and longitude; the form shows it
 * before saving. Works by keyboard alone (Tab, type, Enter), by touch and by
 * mouse; a plain click on the map outside this mode reports nothing.
 *
 * `kept`: a report that was being described when the session ended
 * (session/drafts.ts): its place, and its form open again as typed.
 */
export function startReporting({ view, store, tools }: EditingContext, kept?: { lon: number; lat: number; values: Record<string, string> }) {
  const { map } = view
  let followCentre = !kept
  let at = kept ? L.latLng(kept.lat, kept.lon) : map.getCenter().wrap()
  const pin = L.marker(at, {
    icon: L.divIcon({ className: 'report-pin', html: '<span aria-hidden="true"></span>', iconSize: [26, 26], iconAnchor: [13, 26] }),
    interactive: false,
    keyboard: false,
  }).addTo(map)
  pin.getElement()?.setAttribute('data-testid', 'report-pin')

  const form = document.createElement('form')
  form.className = 'report-place'
  form.innerHTML = `
    <label>Latitude <input name="lat" inputmode="decimal" autocomplete="off" data-testid="report-lat"></label>
    <label>Longitude <input name="lon" inputmode="decimal" autocomplete="off" data-testid="report-lon"></label>
    <button type="button" data-testid="report-use-centre">Use map centre</button>`
  const lat = form.querySelector<HTMLInputElement>('[name=lat]')!
  const lon = form.querySelector<HTMLInputElement>('[name=lon]')!
  const show = () => {
    lat.value = at.lat.toFixed(DECIMALS)
    lon.value = at.lng.toFixed(DECIMALS)
    pin.setLatLng(at)
  }
  const onMove = () => {
    if (!followCentre) return
    at = map.getCenter().wrap()
    show()
  }
  /** the typed place, or why it is no place */
  const typed = (): L.LatLng | string => {
    const [y, x] = [Number(lat.value.trim().replace(',', '.')), Number(lon.value.trim().replace(',', '.'))]
    if (lat.value.trim() === '' || !Number.isFinite(y) || y < -90 || y > 90) return `Latitude must be a number from -90 to 90 (got “${lat.value}”).`
    if (lon.value.trim() === '' || !Number.isFinite(x) || x < -180 || x > 180) return `Longitude must be a number from -180 to 180 (got “${lon.value}”).`
    return L.latLng(y, x)
  }
  const onType = () => {
    const place = typed()
    if (typeof place === 'string') return
    followCentre = false
    at = place
    pin.setLatLng(at)
  }
  // once a coordinate is typed (not at each keystroke), the map shows the place if it is out of view
  const onTyped = () => {
    if (!followCentre && !map.getBounds().contains(at)) map.panTo(at, { animate: false })
  }
  const end = () => {
    map.off('move', onMove)
    map.off('click', onMapClick)
    pin.remove()
    tools.leave()
  }
  const describe = async (typedValues?: Record<string, string>) => {
    const place = typed()
    if (typeof place === 'string') return tools.message(place, true)
    at = place
    tools.message(guidance)
    const shown = typedValues && { name: typedValues.name ?? '', description: typedValues.description ?? '', severity: (typedValues.severity ?? DEFAULT_SEVERITY) as Severity }
    const saved = await formDialog('Report an incident', [
      ...incidentFields(shown),
      { name: 'place', label: 'Location (latitude, longitude)', kind: 'text', value: placeWords(at), readOnly: true },
    ], async (values) => {
      store.upsert(await api.createIncident({
        name: values.name!, description: values.description ?? '', severity: values.severity as Severity, lon: at.lng, lat: at.lat,
      }))
    }, 'Save', { kind: 'report', lon: at.lng, lat: at.lat })
    // cancelled: back to placing it, the place kept
    if (saved) end()
  }
  const onMapClick = (event: L.LeafletMouseEvent) => {
    followCentre = false
    at = event.latlng.wrap()
    show()
    void describe()
  }

  lat.oninput = lon.oninput = onType
  lat.onchange = lon.onchange = onTyped
  form.querySelector<HTMLButtonElement>('[data-testid=report-use-centre]')!.onclick = () => {
    followCentre = true
    onMove()
  }
  // Enter in a coordinate goes on to the form (a form without a submit button is not submitted by Enter)
  form.onsubmit = (event) => event.preventDefault()
  form.onkeydown = (event) => {
    if (event.key !== 'Enter' || !(event.target instanceof HTMLInputElement)) return
    event.preventDefault()
    void describe()
  }
  const guidance = 'Tap or click the map where it happened, or type its latitude and longitude. Until then the map’s centre is used.'
  tools.enter({
    tool: 'report',
    title: 'Report an incident',
    message: guidance,
    body: form,
    actions: [
      { label: 'Describe it…', testId: 'report-describe', primary: true, run: () => void describe() },
      { label: 'Cancel', testId: 'report-cancel', run: end },
    ],
    cancel: end,
  })
  show()
  map.on('move', onMove)
  map.on('click', onMapClick)
  if (kept) {
    if (!map.getBounds().contains(at)) map.panTo(at, { animate: false })
    void describe(kept.values)
  }
}
