import type L from 'leaflet'
import type { AreaFeature, IncidentFeature } from '../../../contracts/features.ts'
import type { Store } from '../store.ts'
import type { MapEditing, MapView } from '../map/map-view.ts'
import type { PopupAction } from '../ui/popups.ts'
import { editIncident, incidentActions, moveIncident, reportIncidentAt, type EditingContext } from './incident-editing.ts'
import type { Draft } from '../session/drafts.ts'
import { areaActions, drawAreaControl, saveDrawnArea } from './area-editing.ts'

/**
 * The operator's tools: report an incident by clicking the map, draw areas
 * with the tool button, and edit, move, close or delete from the popups.
 * Handed to the map when it is built (for the popups' actions), then mounted
 * on it (the button and the click).
 */
export class Editing implements MapEditing {
  #context: EditingContext | undefined
  #tools: L.Control | undefined

  constructor(
    private readonly store: Store,
    private readonly report: (error: unknown) => void,
    private readonly offerUndo: (message: string, undo: () => void) => void,
  ) {}

  mount(view: MapView) {
    const context = (this.#context = { view, store: this.store, report: this.report, offerUndo: this.offerUndo })
    this.#tools = drawAreaControl(context).addTo(view.map)
    view.map.on('click', this.#onMapClick)
  }

  unmount() {
    this.#tools?.remove()
    this.#context?.view.map.off('click', this.#onMapClick)
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

  drawn(geometry: AreaFeature['geometry']): Promise<boolean> {
    return saveDrawnArea(this.#mounted(), geometry)
  }

  /** Opens the form a draft was kept from (the session ended while it was open), with what was typed. */
  restore(draft: Draft) {
    const context = this.#mounted()
    if (draft.subject.kind === 'report') reportIncidentAt(context, { lng: draft.subject.lon, lat: draft.subject.lat }, draft.values)
    else void editIncident(context, draft.subject.base, draft.values)
  }

  readonly #onMapClick = (event: L.LeafletMouseEvent) => {
    const context = this.#mounted()
    if (context.view.areas.drawing) return
    reportIncidentAt(context, event.latlng.wrap())
  }

  #mounted(): EditingContext {
    if (!this.#context) throw new Error('Editing is not mounted on a map')
    return this.#context
  }
}
