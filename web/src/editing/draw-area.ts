import type L from 'leaflet'
import type { AreaFeature } from '../../../contracts/features.ts'
import { DEFAULT_SEVERITY, type Severity } from '../../../contracts/severity.ts'
import { api } from '../api.ts'
import type { EditingContext } from './incident-editing.ts'
import { areaDialog } from './forms.ts'
import { FaultMark, faultSentence, shapeFault, type ShapeFault } from './shape-fault.ts'

/** a polygon needs three corners before it can be finished */
const MIN_CORNERS = 3

/**
 * "Draw area": corners by click or tap, with visible Finish and Cancel (and
 * Escape to cancel). Finishing (or clicking the first corner again) hands
 * the polygon to `keepDrawnArea`.
 */
export function startDrawing({ view, tools }: EditingContext) {
  const { map, areas } = view
  const cancel = () => {
    map.off('pm:drawstart', onStart)
    areas.stopDrawing()
    tools.leave()
  }
  const finish = () => (map.pm.Draw as unknown as { Polygon: { _finishShape(): void } }).Polygon._finishShape()
  const onStart = ({ workingLayer }: { workingLayer: L.Layer }) => {
    const corners = () => ((workingLayer as L.Polyline).getLatLngs() as L.LatLng[]).length
    const update = () => {
      const button = tools.action('finish-drawing')
      if (button) button.disabled = corners() < MIN_CORNERS
    }
    workingLayer.on('pm:vertexadded pm:vertexremoved', update)
  }
  tools.enter({
    tool: 'draw',
    title: 'Draw an area',
    message: 'Click or tap the map at each corner, then Finish.',
    actions: [
      { label: 'Finish', testId: 'finish-drawing', primary: true, run: finish },
      { label: 'Cancel', testId: 'cancel-drawing', run: cancel },
    ],
    cancel,
  })
  tools.action('finish-drawing')!.disabled = true
  map.once('pm:drawstart', onStart)
  areas.startDrawing()
}

/**
 * A polygon just drawn: asks its name and threshold and saves it. Until it is
 * saved it stays on the map, editable: when the dialog is cancelled, and when
 * the server refuses the shape (then the reason is marked where it goes
 * wrong). Only "Discard" gives it up.
 */
export function keepDrawnArea({ view, store, tools }: EditingContext, layer: L.Polygon) {
  const fault = new FaultMark(view.map)
  let values: { name: string; severity: Severity } = { name: '', severity: DEFAULT_SEVERITY }
  const geometry = () => (layer.toGeoJSON() as GeoJSON.Feature<AreaFeature['geometry']>).geometry
  const done = () => {
    fault.clear()
    layer.pm.disable()
    // the saved area comes back from the store, as everyone else sees it: the drawn one goes
    layer.remove()
    tools.leave()
  }
  const ask = async () => {
    let refused: ShapeFault | undefined
    const closed = await areaDialog('New area of interest', values, async (typed) => {
      values = { name: typed.name!, severity: typed.severity as Severity }
      try {
        store.upsert(await api.createArea({ ...values, geometry: geometry() }))
      } catch (error) {
        // a refused shape is fixed on the map, not in the dialog
        refused = shapeFault(error)
        if (!refused) throw error
      }
    })
    if (closed && !refused) return done()
    layer.pm.enable({ allowSelfIntersection: true })
    if (refused) fault.show(refused)
    tools.enter({
      tool: 'draw',
      title: values.name ? `New area “${values.name}”: not saved` : 'New area: not saved',
      message: refused
        ? `${faultSentence(refused)}${refused.location ? ' (marked on the map)' : ''}. Drag its corners to fix it, then save it again.`
        : 'Drag its corners to change it, then save it.',
      alert: refused !== undefined,
      actions: [
        { label: 'Save area…', testId: 'save-drawn-area', primary: true, run: () => void ask() },
        { label: 'Discard', testId: 'discard-drawn-area', run: done },
      ],
    })
  }
  tools.enter({ tool: 'draw', title: 'New area', message: 'Name it and choose its alert threshold.', actions: [] })
  void ask()
}
