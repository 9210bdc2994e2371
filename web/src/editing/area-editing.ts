import L from 'leaflet'
import type { AreaFeature } from '../../../contracts/features.ts'
import { DEFAULT_SEVERITY, type Severity } from '../../../contracts/severity.ts'
import { api } from '../api.ts'
import type { PopupAction } from '../ui/popups.ts'
import type { EditingContext } from './incident-editing.ts'
import type { Store } from '../store.ts'
import { areaDialog } from './forms.ts'
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
function saveArea(store: Store, base: AreaFeature, changes: Changes) {
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

/** The area as it was when its shape editing began: the shape is saved on top of that version. */
const reshapeBase = new WeakMap<L.Polygon, AreaFeature>()

/** An area's popup actions: edit its name and threshold, reshape it (and save the shape), delete. */
export function areaActions({ view, store, report }: EditingContext, area: AreaFeature, layer: L.Polygon): PopupAction[] {
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
        if (!layer.pm.enabled()) {
          reshapeBase.set(layer, store.areas.get(p.id) ?? area)
          return layer.pm.enable({ allowSelfIntersection: true })
        }
        layer.pm.disable()
        const geometry = (layer.toGeoJSON() as GeoJSON.Feature<AreaFeature['geometry']>).geometry
        saveArea(store, reshapeBase.get(layer) ?? area, { geometry })
          .then((result) => {
            if (!('saved' in result)) view.areas.render() // theirs, as the server has it
          })
          .catch((error) => {
            report(error)
            view.areas.render() // back to the shape the server has
          })
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

/** A polygon just drawn: ask its name and threshold, and save it. */
export function saveDrawnArea({ store }: EditingContext, geometry: AreaFeature['geometry']): Promise<boolean> {
  return areaDialog('New area of interest', { name: '', severity: DEFAULT_SEVERITY }, async (values) => {
    store.upsert(await api.createArea({ name: values.name!, severity: values.severity as Severity, geometry }))
  })
}

/** The "Draw area" button on the map, pressed while drawing. */
export function drawAreaControl({ view }: EditingContext): L.Control {
  const { map, areas } = view
  const tools = new L.Control({ position: 'topright' })
  const drawEnded = () => tools.getContainer()?.querySelector('button')?.setAttribute('aria-pressed', 'false')
  tools.onAdd = () => {
    const div = L.DomUtil.create('div', 'map-tools')
    div.innerHTML = '<button type="button" data-testid="draw-area" aria-pressed="false">Draw area</button>'
    const button = div.querySelector('button')!
    L.DomEvent.disableClickPropagation(div)
    button.onclick = () => {
      if (areas.drawing) areas.stopDrawing()
      else areas.startDrawing()
      button.setAttribute('aria-pressed', String(areas.drawing))
    }
    map.on('pm:drawend', drawEnded)
    return div
  }
  tools.onRemove = () => {
    map.off('pm:drawend', drawEnded)
  }
  return tools
}
