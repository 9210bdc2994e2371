import L from 'leaflet'
import Supercluster from 'supercluster'
import type { IncidentFeature } from '../../../contracts/features.ts'
import type { Store } from '../store.ts'
import { SEVERITY_COLOR, escapeHtml } from '../severity-style.ts'

export interface IncidentActions {
  canEdit: boolean
  /** builds the popup content for one incident */
  popup(incident: IncidentFeature): HTMLElement
  moved(incident: IncidentFeature, lon: number, lat: number): void
}

type PointProps = { id: number }

/**
 * Incidents as markers coloured by severity, clustered with supercluster so
 * 50 000 stay smooth: only the clusters and points in view are ever on the
 * map. The index is rebuilt when the visible set changes, at most a few times
 * a second however fast live updates arrive.
 */
export class IncidentLayer {
  readonly #group = L.layerGroup()
  #index = new Supercluster<PointProps, { id?: number }>({ radius: 50, maxZoom: 14 })
  #rebuildPending = false
  /** what is on the map now, by a key that changes when its look changes */
  readonly #shown = new Map<string, L.Marker>()
  /** the incident whose details are open: kept open across re-renders */
  #openPopupId: number | null = null
  #rendering = false

  constructor(
    private readonly map: L.Map,
    private readonly store: Store,
    private readonly actions: IncidentActions,
  ) {
    this.#group.addTo(map)
    map.on('moveend', () => this.render())
    // the first load and filter changes show at once; a stream of live
    // changes rebuilds at most once a second (a rebuild over 50 000 points
    // costs a good part of a second on a slow machine)
    let loaded = false
    store.on('incidents', () => {
      if (loaded) return this.scheduleRebuild()
      loaded = true
      this.rebuild()
    })
    store.on('filters', () => this.rebuild())
    this.rebuild()
  }

  scheduleRebuild() {
    if (this.#rebuildPending) return
    this.#rebuildPending = true
    setTimeout(() => {
      this.#rebuildPending = false
      this.rebuild()
    }, 1000)
  }

  rebuild() {
    const points = this.store.visibleIncidents().map((f) => ({
      type: 'Feature' as const,
      geometry: f.geometry,
      properties: { id: f.properties.id },
    }))
    this.#index = new Supercluster<PointProps, { id?: number }>({ radius: 50, maxZoom: 14 })
    this.#index.load(points)
    this.render()
  }

  render() {
    const bounds = this.map.getBounds()
    const bbox: [number, number, number, number] = [
      Math.max(-180, bounds.getWest()), Math.max(-85, bounds.getSouth()), Math.min(180, bounds.getEast()), Math.min(85, bounds.getNorth()),
    ]
    const zoom = Math.round(this.map.getZoom())
    // Only what changed is touched: recreating every marker on every pan is
    // what made panning stutter with many incidents.
    const wanted = new Map<string, () => L.Marker>()
    for (const item of this.#index.getClusters(bbox, zoom)) {
      const [lon, lat] = item.geometry.coordinates as [number, number]
      const props = item.properties as { cluster?: boolean; point_count?: number; cluster_id?: number; id?: number }
      if (props.cluster) {
        wanted.set(`c:${zoom}:${props.cluster_id}:${props.point_count}`, () => this.#clusterMarker(lat, lon, props.point_count!, props.cluster_id!))
      } else {
        const incident = this.store.incidents.get(props.id!)
        if (incident) wanted.set(`i:${incident.properties.id}:${incident.properties.version}`, () => this.#incidentMarker(incident))
      }
    }
    this.#rendering = true
    for (const [key, marker] of this.#shown) {
      if (wanted.has(key)) continue
      this.#group.removeLayer(marker)
      this.#shown.delete(key)
    }
    this.#rendering = false
    for (const [key, make] of wanted) {
      if (this.#shown.has(key)) continue
      const marker = make()
      this.#shown.set(key, marker)
      this.#group.addLayer(marker)
    }
  }

  /** Zooms to an incident and opens its details. */
  focus(id: number) {
    const incident = this.store.incidents.get(id)
    if (!incident) return
    const [lon, lat] = incident.geometry.coordinates
    this.#openPopupId = id
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), 17))
  }

  #clusterMarker(lat: number, lon: number, count: number, clusterId: number) {
    const size = count < 100 ? 34 : count < 1000 ? 42 : 52
    const marker = L.marker([lat, lon], {
      icon: L.divIcon({
        className: '',
        html: `<div class="cluster" style="width:${size}px;height:${size}px;background:#2b4a6f">${count}</div>`,
        iconSize: [size, size],
      }),
      keyboard: true,
      title: `${count} incidents`,
    })
    marker.on('click', () => this.map.setView([lat, lon], Math.min(this.#index.getClusterExpansionZoom(clusterId), 18)))
    return marker
  }

  #incidentMarker(incident: IncidentFeature) {
    const p = incident.properties
    const [lon, lat] = incident.geometry.coordinates
    const size = p.severity === 'urgent' || p.severity === 'high' ? 20 : 16
    const marker = L.marker([lat, lon], {
      icon: L.divIcon({
        className: '',
        html: `<div class="incident-pin${p.closed ? ' closed' : ''}" data-incident-id="${p.id}" data-severity="${p.severity}" data-closed="${p.closed}"
          style="width:${size}px;height:${size}px;background:${SEVERITY_COLOR[p.severity]}" title="${escapeHtml(p.name)}"></div>`,
        iconSize: [size, size],
      }),
      draggable: this.actions.canEdit,
      keyboard: true,
      title: p.name,
      opacity: p.closed ? 0.6 : 1,
    })
    marker.bindPopup(() => this.actions.popup(this.store.incidents.get(p.id) ?? incident), { className: 'popup', minWidth: 220 })
    marker.on('popupopen', () => (this.#openPopupId = p.id))
    marker.on('popupclose', () => {
      if (!this.#rendering && this.#openPopupId === p.id) this.#openPopupId = null
    })
    marker.on('dragend', () => {
      const at = marker.getLatLng().wrap()
      this.actions.moved(incident, at.lng, at.lat)
    })
    if (this.#openPopupId === p.id) setTimeout(() => marker.openPopup(), 0)
    return marker
  }
}
