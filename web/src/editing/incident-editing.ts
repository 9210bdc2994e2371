import type L from 'leaflet'
import type { IncidentFeature } from '../../../contracts/features.ts'
import type { Severity } from '../../../contracts/severity.ts'
import { api } from '../api.ts'
import type { Store } from '../store.ts'
import type { MapView } from '../map/map-view.ts'
import { formDialog } from '../ui/dialog.ts'
import type { PopupAction } from '../ui/popups.ts'
import { incidentFields } from './forms.ts'

/** What editing works on: the map it is mounted on, the store it saves into, and where a refusal shows. */
export interface EditingContext {
  view: MapView
  store: Store
  report(error: unknown): void
}

/** An incident's popup actions: edit, close or reopen, delete. */
export function incidentActions({ view, store, report }: EditingContext, incident: IncidentFeature): PopupAction[] {
  const p = incident.properties
  return [
    { label: 'Edit', testId: 'edit-incident', run: () => void editIncident({ view, store, report }, p.id) },
    {
      label: p.closed ? 'Reopen' : 'Close', testId: p.closed ? 'reopen-incident' : 'close-incident',
      run: () => {
        view.map.closePopup()
        const current = store.incidents.get(p.id)!
        api.updateIncident(p.id, current.properties.version, { properties: { closed: !current.properties.closed } })
          .then((saved) => store.upsert(saved), report)
      },
    },
    {
      label: 'Delete', testId: 'delete-incident', danger: true,
      run: () => {
        if (!confirm(`Delete incident "${p.name}"?`)) return
        view.map.closePopup()
        api.deleteIncident(p.id).catch(report)
      },
    },
  ]
}

async function editIncident({ view, store }: EditingContext, id: number) {
  view.map.closePopup()
  const current = store.incidents.get(id)!.properties
  await formDialog('Edit incident', incidentFields(current), async (values) => {
    const latest = store.incidents.get(id)!.properties
    store.upsert(await api.updateIncident(id, latest.version, { properties: { name: values.name, description: values.description, severity: values.severity } }))
  })
}

/** Saves a dragged marker's new place; if refused, the marker goes back to where the server has it. */
export function moveIncident({ view, store, report }: EditingContext, incident: IncidentFeature, lon: number, lat: number) {
  const current = store.incidents.get(incident.properties.id) ?? incident
  api.updateIncident(current.properties.id, current.properties.version, { geometry: { type: 'Point', coordinates: [lon, lat] } })
    .then((saved) => store.upsert(saved))
    .catch((error) => {
      report(error)
      view.incidents.rebuild()
    })
}

/** A new incident where the map was clicked. */
export function reportIncidentAt({ store }: EditingContext, at: L.LatLng) {
  void formDialog('Report an incident', incidentFields(), async (values) => {
    store.upsert(await api.createIncident({
      name: values.name!, description: values.description ?? '', severity: values.severity as Severity, lon: at.lng, lat: at.lat,
    }))
  })
}
