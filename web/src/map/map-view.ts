import L from 'leaflet'
import type { AreaFeature, IncidentFeature } from '../../../contracts/features.ts'
import type { ClientConfig } from '../../../contracts/client-config.ts'
import type { Store } from '../store.ts'
import { areaPopup, incidentPopup, POPUP_GREW, type PopupAction } from '../ui/popups.ts'
import { createBaseMap } from './base-map.ts'
import { addLegend } from './legend.ts'
import { addFilterBadge } from './filter-badge.ts'
import { IncidentLayer } from './incident-layer.ts'
import { AreaLayer } from './area-layer.ts'

/** What the map asks of the editing tools (operators only): the actions in the popups, and what to do with a drag or a drawing. */
export interface MapEditing {
  incidentActions(incident: IncidentFeature): PopupAction[]
  /** an incident's marker was dragged here */
  moved(incident: IncidentFeature, lon: number, lat: number): void
  areaActions(area: AreaFeature, layer: L.Polygon): PopupAction[]
  /** a polygon was drawn: it is the editing's now, to save, keep for fixing or discard */
  drawn(layer: L.Polygon): void
}

export interface MapView {
  readonly map: L.Map
  readonly incidents: IncidentLayer
  readonly areas: AreaLayer
  unmount(): void
}

type WithMap = { __map__?: L.Map }

/** The map: base, legend, incidents and areas from the store; with `editing`, markers drag and polygons reshape. */
export function mountMapView(element: HTMLElement, config: ClientConfig, store: Store, editing?: MapEditing): MapView {
  const map = createBaseMap(element, config)
  addLegend(map)
  const filterBadge = addFilterBadge(map, store)
  // exposed for end-to-end tests and for poking at the map from the console
  ;(window as WithMap).__map__ = map

  const canEdit = editing !== undefined
  const incidents = new IncidentLayer(map, store, {
    canEdit,
    popup: (incident) => incidentPopup(incident, editing?.incidentActions(incident) ?? []),
    moved: (incident, lon, lat) => editing?.moved(incident, lon, lat),
  })
  const areas = new AreaLayer(map, store, {
    canEdit,
    popup: (area, layer) => areaPopup(area, editing?.areaActions(area, layer) ?? []),
    drawn: (layer) => (editing ? editing.drawn(layer) : layer.remove()),
  })

  // Leaflet pans a popup into sight only when it opens; one that grows
  // upwards afterwards (an incident's history) would leave the map's top
  const keepPopupInSight = (event: Event) => {
    const popup = (event.target as HTMLElement).closest('.leaflet-popup')
    if (!popup) return
    const over = element.getBoundingClientRect().top + 10 - popup.getBoundingClientRect().top
    if (over > 0) map.panBy([0, -over])
  }
  element.addEventListener(POPUP_GREW, keepPopupInSight)

  return {
    map,
    incidents,
    areas,
    unmount() {
      element.removeEventListener(POPUP_GREW, keepPopupInSight)
      areas.remove()
      incidents.remove()
      filterBadge.remove()
      delete (window as WithMap).__map__
      map.remove()
    },
  }
}
