import type L from 'leaflet'
import type { AreaFeature } from '../../../contracts/features.ts'
import { api } from '../api.ts'
import type { PopupAction } from '../ui/popups.ts'
import type { EditingContext } from './incident-editing.ts'
import type { Store } from '../store.ts'
import { areaDialog } from './forms.ts'
import { saveReshaped, startReshaping } from './reshape-area.ts'
import { changedProperties, saveEdit, type Changes, type FieldView } from './save-edit.ts'

const AREA_FIELDS: FieldView<AreaFeature>[] = [
  { field: 'name', label: 'Name', read: (f) => f.properties.name, show: String },
  { field: 'severity', label: 'Alert threshold', read: (f) => f.properties.severity, show: (v) => `${String(v)} and above` },
  { field: 'shape', label: 'Shape', read: (f) => f.geometry, show: (v) => shapeWords(v as AreaFeature['geometry']) },
]

function shapeWords(geometry: AreaFeature['geometry']): string {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates
  // a ring repeats its first corner at the end
  const corners = polygons.reduce((n, polygon) => n + polygon[0]!.length - 1, 0)
  return polygons.length === 1 ? `a polygon of ${corners} corners` : `${polygons.length} polygons, ${corners} corners`
}

/** Saves `changes` on top of `base` (the area as the user saw it), showing a conflict if it changed meanwhile. */
export function saveArea(store: Store, base: AreaFeature, changes: Changes) {
  const id = base.properties.id
  return saveEdit(store, {
    what: `area “${base.properties.name}”`,
    base,
    changes,
    fields: AREA_FIELDS,
    send: (version, changes) => api.updateArea(id, version, changes),
    fetch: () => api.area(id),
  })
}

/** An area's popup actions: edit its name and threshold, reshape it (and save the shape), delete. */
export function areaActions(context: EditingContext, area: AreaFeature, layer: L.Polygon): PopupAction[] {
  const { view, store, report } = context
  const p = area.properties
  const reshaping = layer.pm.enabled()
  return [
    {
      label: 'Edit', testId: 'edit-area',
      run: () => {
        view.map.closePopup()
        // based on the area as the form shows it: that version goes with the save, and only the fields changed
        const opened = store.areas.get(p.id)!
        void areaDialog('Edit area of interest', opened.properties, async (values) => {
          const properties = changedProperties(opened.properties, values)
          if (Object.keys(properties).length > 0) await saveArea(store, opened, { properties })
        })
      },
    },
    {
      label: reshaping ? 'Save shape' : 'Edit shape', testId: reshaping ? 'save-shape' : 'edit-shape',
      run: () => {
        view.map.closePopup()
        if (layer.pm.enabled()) saveReshaped(context, area, layer)
        else startReshaping(context, area, layer)
      },
    },
    {
      label: 'Delete', testId: 'delete-area', danger: true,
      run: () => {
        if (!confirm(`Delete area "${p.name}"?`)) return
        view.map.closePopup()
        api.deleteArea(p.id).catch(report)
      },
    },
  ]
}
