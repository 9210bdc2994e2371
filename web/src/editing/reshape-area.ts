import type L from 'leaflet'
import type { AreaFeature } from '../../../contracts/features.ts'
import type { EditingContext } from './incident-editing.ts'
import { saveArea } from './area-editing.ts'
import { FaultMark, faultSentence, shapeFault } from './shape-fault.ts'

/** A shape being edited: the area as it was when editing began (the shape is saved on top of that version) and the mark of a refusal. */
interface Reshaping {
  base: AreaFeature
  fault: FaultMark
}

const reshaping = new WeakMap<L.Polygon, Reshaping>()

/** "Edit shape": the polygon's corners can be dragged, with Save shape and Cancel in the tools' panel. */
export function startReshaping(context: EditingContext, area: AreaFeature, layer: L.Polygon) {
  if (!context.tools.free()) return context.report('Save or cancel the shape in progress first.')
  reshaping.set(layer, { base: context.store.areas.get(area.properties.id) ?? area, fault: new FaultMark(context.view.map) })
  layer.pm.enable({ allowSelfIntersection: true })
  showPanel(context, area, layer)
}

function showPanel(context: EditingContext, area: AreaFeature, layer: L.Polygon, message = 'Drag the corners, then save the shape.', alert = false) {
  context.tools.enter({
    title: `Shape of “${area.properties.name}”`,
    message,
    alert,
    actions: [
      { label: 'Save shape', testId: 'save-reshaped', primary: true, run: () => saveReshaped(context, area, layer) },
      { label: 'Cancel', testId: 'cancel-reshaping', run: () => stopReshaping(context, layer) },
    ],
  })
}

/** Back to the shape the server has. */
function stopReshaping({ view, tools }: EditingContext, layer: L.Polygon) {
  reshaping.get(layer)?.fault.clear()
  reshaping.delete(layer)
  layer.pm.disable()
  tools.leave()
  view.areas.render()
}

/**
 * Saves the shape as drawn. A shape the server refuses stays as drawn, still
 * editable, with the reason marked where it goes wrong; anything else ends
 * the editing (a refusal of another kind is reported).
 */
export function saveReshaped(context: EditingContext, area: AreaFeature, layer: L.Polygon) {
  const session = reshaping.get(layer) ?? { base: area, fault: new FaultMark(context.view.map) }
  const geometry = (layer.toGeoJSON() as GeoJSON.Feature<AreaFeature['geometry']>).geometry
  saveArea(context.store, session.base, { geometry })
    .then(() => stopReshaping(context, layer))
    .catch((error) => {
      const fault = shapeFault(error)
      if (!fault) {
        context.report(error)
        return stopReshaping(context, layer)
      }
      session.fault.show(fault)
      const where = fault.location ? ' (marked on the map)' : ''
      showPanel(context, area, layer, `Not saved: ${faultSentence(fault)}${where}. Drag its corners to fix it, then save again.`, true)
    })
}
