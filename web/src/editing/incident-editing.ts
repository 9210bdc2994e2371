import type { IncidentFeature } from '../../../contracts/features.ts'
import type { Severity } from '../../../contracts/severity.ts'
import { api } from '../api.ts'
import type { Store } from '../store.ts'
import type { MapView } from '../map/map-view.ts'
import type { MapTools } from './map-tools.ts'
import { formDialog } from '../ui/dialog.ts'
import type { PopupAction } from '../ui/popups.ts'
import { incidentFields } from './forms.ts'
import { changedProperties, saveEdit, type Changes, type FieldView } from './save-edit.ts'

/** What editing works on: the map it is mounted on, the store it saves into, and where a refusal shows. */
export interface EditingContext {
  view: MapView
  /** the tools' buttons and the panel of the mode in progress */
  tools: MapTools
  store: Store
  report(error: unknown): void
  /** a notice with an Undo button, for a change made by a gesture a slip can make (a drag) */
  offerUndo(message: string, undo: () => void): void
}

const INCIDENT_FIELDS: FieldView<IncidentFeature>[] = [
  { field: 'name', label: 'Name', read: (f) => f.properties.name, show: String },
  { field: 'description', label: 'Description', read: (f) => f.properties.description, show: (v) => String(v) || '(empty)' },
  { field: 'severity', label: 'Severity', read: (f) => f.properties.severity, show: String },
  { field: 'closed', label: 'Status', read: (f) => f.properties.closed, show: (v) => (v ? 'closed' : 'open') },
  { field: 'location', label: 'Location', read: (f) => f.geometry.coordinates, show: (v) => lonLatWords(v as [number, number]) },
]

function lonLatWords([lon, lat]: [number, number]): string {
  return `${lat.toFixed(5)}, ${lon.toFixed(5)}`
}

/** Saves `changes` on top of `base` (the incident as the user saw it), showing a conflict if it changed meanwhile. */
function saveIncident(store: Store, base: IncidentFeature, changes: Changes) {
  const id = base.properties.id
  return saveEdit(store, {
    what: `incident “${base.properties.name}”`,
    base,
    changes,
    fields: INCIDENT_FIELDS,
    send: (version, changes) => api.updateIncident(id, version, changes),
    fetch: () => api.incident(id),
  })
}

/** An incident's popup actions: edit, close or reopen, delete. */
export function incidentActions(context: EditingContext, incident: IncidentFeature): PopupAction[] {
  const { view, store, report } = context
  const p = incident.properties
  return [
    { label: 'Edit', testId: 'edit-incident', run: () => void editIncident(context, store.incidents.get(p.id)!) },
    {
      label: p.closed ? 'Reopen' : 'Close', testId: p.closed ? 'reopen-incident' : 'close-incident',
      run: () => {
        view.map.closePopup()
        // what the popup showed is what the button means: "Close" on an incident someone reopened meanwhile is a conflict
        saveIncident(store, incident, { properties: { closed: !p.closed } }).catch(report)
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

/**
 * The edit form, based on `opened` (the incident as it is when the form
 * opens, or as it was when a draft of it was kept): that version goes with
 * the save, and only the fields changed in the form. `typed`: a kept draft's
 * values, shown instead of the incident's.
 */
export async function editIncident({ view, store }: EditingContext, opened: IncidentFeature, typed?: Record<string, string>) {
  view.map.closePopup()
  const shown = typed ? { ...opened.properties, ...typed, severity: (typed.severity ?? opened.properties.severity) as Severity } : opened.properties
  await formDialog('Edit incident', incidentFields(shown), async (values) => {
    const properties = changedProperties(opened.properties, values)
    if (Object.keys(properties).length === 0) return
    await saveIncident(store, opened, { properties })
  }, 'Save', { kind: 'edit-incident', base: opened })
}

/**
 * Saves a dragged marker's new place, based on the incident as it was when
 * the drag began, and offers to undo it. If refused (or the user takes
 * what someone else saved), the marker goes back to where the server has it.
 */
export function moveIncident({ view, store, report, offerUndo }: EditingContext, incident: IncidentFeature, lon: number, lat: number) {
  const id = incident.properties.id
  const from = incident.geometry
  saveIncident(store, incident, { geometry: { type: 'Point', coordinates: [lon, lat] } })
    .then((result) => {
      if (!('saved' in result)) return view.incidents.putBack(id)
      offerUndo(`Moved “${result.saved.properties.name}”.`, () => {
        // based on the version the move made: a change since then is a conflict like any other
        saveIncident(store, result.saved, { geometry: from })
          .then((undone) => ('saved' in undone ? undefined : view.incidents.putBack(id)))
          .catch((error) => {
            report(error)
            view.incidents.putBack(id)
          })
      })
    })
    .catch((error) => {
      report(error)
      view.incidents.putBack(id)
    })
}
