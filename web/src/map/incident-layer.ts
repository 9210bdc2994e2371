import L from 'leaflet'
import type { IncidentFeature } from '../../../contracts/features.ts'
import { changedIncidents, type Store } from '../store.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'
import { escapeHtml } from '../ui/escape-html.ts'
import { ClusterIndex, type Changes } from './cluster-index.ts'
import { ClusterCanvas, type Cluster } from './cluster-canvas.ts'
import { RebuildPacer } from './rebuild-pacer.ts'

/**
 * Live changes gathered this long go to the cluster index together: a
 * change costs the worker a small re-cluster of every change not yet folded
 * into the full index, and the map a render, so a stream of them is taken
 * in batches; short beside how stale the map may be.
 */
export const CHANGE_BATCH_MS = 150

export interface IncidentActions {
  canEdit: boolean
  /** builds the popup content for one incident */
  popup(incident: IncidentFeature): HTMLElement
  moved(incident: IncidentFeature, lon: number, lat: number): void
}

/**
 * Incidents as markers coloured by severity, clustered with supercluster so
 * 50 000 stay smooth: only the clusters and points in view are ever on the
 * map. The index is built and queried in Web Workers (cluster-index.ts),
 * rebuilt when the visible set changes: a filter change at once. A live
 * change is sent to the index at once (in batches of CHANGE_BATCH_MS), which
 * shows it beside the index it has without clustering everything again; the
 * full rebuild that folds the changes in is paced by RebuildPacer (held
 * while the map moves). Clusters are drawn on a canvas (cluster-canvas.ts),
 * single incidents are DOM markers.
 */
export class IncidentLayer {
  readonly #group = L.layerGroup()
  readonly #index = new ClusterIndex(() => this.render())
  readonly #clusters = new ClusterCanvas((cluster) => void this.#zoomInto(cluster))
  readonly #pacer = new RebuildPacer(() => this.rebuild())
  /** what is on the map now, by a key that changes when its look changes */
  readonly #shown = new Map<string, L.Marker>()
  /** the incident whose details are open: kept open across re-renders */
  #openPopupId: number | null = null
  #rendering = false
  /** the incident whose marker is being dragged: kept as it is until dropped (replacing it would drop the drag) */
  #dragging: number | null = null
  /** the newest view asked of the index: answers for older views are dropped */
  #view = 0
  /** the first load and filter changes show at once; live changes when the pacer lets them */
  #loaded = false
  /** live changes not yet sent to the index, and the timer that sends them */
  readonly #changed = new Set<number>()
  #changeTimer: ReturnType<typeof setTimeout> | undefined
  readonly #onIncidents = (event: Event) => {
    if (this.#loaded) {
      const ids = changedIncidents(event)
      // anything may have changed (a reload): everything is clustered again at once, as for a filter
      if (!ids) return this.rebuild()
      for (const id of ids) this.#changed.add(id)
      this.#changeTimer ??= setTimeout(this.#sendChanges, CHANGE_BATCH_MS)
      // folded into the full index when the pacer lets it
      return this.#pacer.request()
    }
    this.#loaded = true
    // the first load shows a preview first (see ClusterIndex.load)
    this.rebuild(this.map.getZoom())
  }
  readonly #onFilters = () => this.rebuild()
  readonly #onMoveStart = () => this.#pacer.moveStarted()
  readonly #onMoveEnd = () => {
    this.#pacer.moveEnded()
    void this.render()
  }

  constructor(
    private readonly map: L.Map,
    private readonly store: Store,
    private readonly actions: IncidentActions,
  ) {
    this.#group.addTo(map)
    this.#clusters.addTo(map)
    map.on('movestart', this.#onMoveStart)
    map.on('moveend', this.#onMoveEnd)
    store.on('incidents', this.#onIncidents)
    store.on('filters', this.#onFilters)
  }

  /** The live changes gathered, to the index: where each incident is now, if the filters show it. */
  readonly #sendChanges = () => {
    this.#changeTimer = undefined
    const visible = this.store.visibility()
    const changes: Changes = new Map()
    for (const id of this.#changed) {
      const incident = this.store.incidents.get(id)
      changes.set(id, incident && visible(incident) ? [incident.geometry.coordinates[0], incident.geometry.coordinates[1]] : null)
    }
    this.#changed.clear()
    this.#index.change(changes)
  }

  /** Takes the layer off the map and stops following the store. */
  remove() {
    clearTimeout(this.#changeTimer)
    this.store.off('incidents', this.#onIncidents)
    this.store.off('filters', this.#onFilters)
    this.map.off('movestart', this.#onMoveStart)
    this.map.off('moveend', this.#onMoveEnd)
    this.#clusters.remove()
    this.#group.remove()
  }

  /** @param previewZoom the view's zoom, to show a quick preview of the index there while the full one builds */
  rebuild(previewZoom?: number) {
    this.#pacer.rebuilt()
    const visible = this.store.visibleIncidents()
    const ids = new Int32Array(visible.length)
    const coordinates = new Float64Array(2 * visible.length)
    visible.forEach((f, i) => {
      ids[i] = f.properties.id
      coordinates[2 * i] = f.geometry.coordinates[0]
      coordinates[2 * i + 1] = f.geometry.coordinates[1]
    })
    this.#index.load(ids, coordinates, previewZoom)
  }

  async render() {
    const view = ++this.#view
    const bounds = this.map.getBounds()
    const bbox: [number, number, number, number] = [
      Math.max(-180, bounds.getWest()), Math.max(-85, bounds.getSouth()), Math.min(180, bounds.getEast()), Math.min(85, bounds.getNorth()),
    ]
    const zoom = Math.round(this.map.getZoom())
    const items = await this.#index.clusters(bbox, zoom)
    if (!items || view !== this.#view) return
    // Only the pins that changed are touched: recreating every marker on
    // every pan is what made panning stutter with many incidents.
    const wanted = new Map<string, () => L.Marker>()
    const clusters: Cluster[] = []
    for (const item of items) {
      if (item.kind === 'cluster') {
        clusters.push(item)
      } else {
        const incident = this.store.incidents.get(item.id)
        if (incident) wanted.set(`i:${incident.properties.id}:${incident.properties.version}`, () => this.#incidentMarker(incident))
      }
    }
    this.#clusters.show(clusters)
    this.#rendering = true
    // a marker under the pointer stays, whatever changed meanwhile: the drop is saved against what it showed
    const held = this.#dragging === null ? undefined : `i:${this.#dragging}:`
    for (const [key, marker] of this.#shown) {
      if (wanted.has(key) || (held && key.startsWith(held))) continue
      this.#group.removeLayer(marker)
      this.#shown.delete(key)
    }
    this.#rendering = false
    for (const [key, make] of wanted) {
      if (this.#shown.has(key) || (held && key.startsWith(held))) continue
      const marker = make()
      this.#shown.set(key, marker)
      this.#group.addLayer(marker)
    }
    this.#openAsked()
    this.map.fire('incidents:rendered')
  }

  /**
   * Shows an incident where the store has it again: a marker dropped by a
   * refused or discarded drag keeps its version (and so its key) and would
   * otherwise stay where it was dropped.
   */
  putBack(id: number) {
    for (const [key, marker] of this.#shown) {
      if (!key.startsWith(`i:${id}:`)) continue
      this.#group.removeLayer(marker)
      this.#shown.delete(key)
    }
    void this.render()
  }

  /**
   * Zooms to an incident and opens its details, however often it is asked:
   * they open in the render that follows the move (a setView that does not
   * move still ends with `moveend`), whether the marker is new then or was
   * on the map already.
   */
  focus(id: number) {
    const incident = this.store.incidents.get(id)
    if (!incident) return
    const [lon, lat] = incident.geometry.coordinates
    this.#openPopupId = id
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), 17))
  }

  /** Opens the details of the incident asked for (focus, or open before a re-render) if its marker is shown and they are not open. */
  #openAsked() {
    const id = this.#openPopupId
    if (id === null) return
    for (const [key, marker] of this.#shown) {
      // after this render, as before: opening pans the map into view (autoPan), which starts another render
      if (key.startsWith(`i:${id}:`) && !marker.isPopupOpen()) setTimeout(() => this.#openPopupId === id && !marker.isPopupOpen() && marker.openPopup(), 0)
    }
  }

  /** A click on a cluster zooms in to where it splits apart. */
  async #zoomInto(cluster: Cluster) {
    const zoom = (await this.#index.expansionZoom(cluster.id)) ?? this.map.getZoom() + 1
    this.map.setView([cluster.lat, cluster.lon], Math.min(zoom, 18))
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
    marker.on('dragstart', () => (this.#dragging = p.id))
    // `incident` is what this marker shows, so the move is based on the version the drag began from
    marker.on('dragend', () => {
      this.#dragging = null
      const at = marker.getLatLng().wrap()
      this.actions.moved(incident, at.lng, at.lat)
    })
    return marker
  }
}
