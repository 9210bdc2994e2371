import L from 'leaflet'
import type { AreaFeature } from '../../../contracts/features.ts'
import { DEFAULT_SEVERITY, type Severity } from '../../../contracts/severity.ts'
import { api } from '../api.ts'
import type { PopupAction } from '../ui/popups.ts'
import type { EditingContext } from './incident-editing.ts'
import { areaDialog } from './forms.ts'

/** An area's popup actions: edit its name and threshold, reshape it (and save the shape), delete. */
export function areaActions({ view, store, report }: EditingContext, area: AreaFeature, layer: L.Polygon): PopupAction[] {
  const p = area.properties
  const reshaping = layer.pm.enabled()
  return [
    {
      label: 'Edit', testId: 'edit-area',
      run: () => {
        view.map.closePopup()
        void areaDialog('Edit area of interest', p, async (values) => {
          const latest = store.areas.get(p.id)!.properties
          store.upsert(await api.updateArea(p.id, latest.version, { properties: { name: values.name, severity: values.severity } }))
        })
      },
    },
    {
      label: reshaping ? 'Save shape' : 'Edit shape', testId: reshaping ? 'save-shape' : 'edit-shape',
      run: () => {
        view.map.closePopup()
        if (!layer.pm.enabled()) return layer.pm.enable({ allowSelfIntersection: true })
        layer.pm.disable()
        const geometry = (layer.toGeoJSON() as GeoJSON.Feature<AreaFeature['geometry']>).geometry
        const latest = store.areas.get(p.id)!.properties
        api.updateArea(p.id, latest.version, { geometry })
          .then((saved) => store.upsert(saved))
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
