import type L from 'leaflet'
import type { AreaFeature, IncidentFeature } from '../../../contracts/features.ts'
import type { Store } from '../store.ts'
import type { MapEditing, MapView } from '../map/map-view.ts'
import type { PopupAction } from '../ui/popups.ts'
import { editIncident, incidentActions, moveIncident, type EditingContext } from './incident-editing.ts'
import type { Draft } from '../session/drafts.ts'
import { areaActions } from './area-editing.ts'
import { keepDrawnArea, startDrawing } from './draw-area.ts'
import { startReporting } from './report-incident.ts'
import { MapTools } from './map-tools.ts'

/**
 * The operator's tools: "Report incident" and "Draw area" on the map (each a
 * mode with its own panel; a plain click on the map does nothing of itself),
 * and edit, move, close or delete from the popups. Handed to the map when it
 * is built (for the popups' actions), then mounted on it (the tools).
 */
export class Editing implements MapEditing {
  #context: EditingContext | undefined

  constructor(
    private readonly store: Store,
    private readonly report: (error: unknown) => void,
    private readonly offerUndo: (message: string, undo: () => void) => void,
  ) {}

  mount(view: MapView) {
    const tools = new MapTools(view.map, {
      report: () => startReporting(this.#mounted()),
      draw: () => startDrawing(this.#mounted()),
    })
    this.#context = { view, tools, store: this.store, report: this.report, offerUndo: this.offerUndo }
  }

  unmount() {
    this.#context?.tools.control.remove()
    this.#context = undefined
  }

  incidentActions(incident: IncidentFeature): PopupAction[] {
    return incidentActions(this.#mounted(), incident)
  }

  moved(incident: IncidentFeature, lon: number, lat: number) {
    moveIncident(this.#mounted(), incident, lon, lat)
  }

  areaActions(area: AreaFeature, layer: L.Polygon): PopupAction[] {
    return areaActions(this.#mounted(), area, layer)
  }

  drawn(layer: L.Polygon) {
    keepDrawnArea(this.#mounted(), layer)
  }

  /** Opens the form a draft was kept from (the session ended while it was open), with what was typed. */
  restore(draft: Draft) {
    const context = this.#mounted()
    if (draft.subject.kind === 'report') startReporting(context, { lon: draft.subject.lon, lat: draft.subject.lat, values: draft.values })
    else void editIncident(context, draft.subject.base, draft.values)
  }

  #mounted(): EditingContext {
    if (!this.#context) throw new Error('Editing is not mounted on a map')
    return this.#context
  }
}
