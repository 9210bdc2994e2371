import L from 'leaflet'
import '@geoman-io/leaflet-geoman-free'
import type { AreaFeature } from '../../../contracts/features.ts'
import type { Store } from '../store.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'

export interface AreaActions {
  canEdit: boolean
  popup(area: AreaFeature, layer: L.Polygon): HTMLElement
  /** a polygon was drawn: ask for its name and threshold and save it; resolve false to discard it */
  drawn(geometry: AreaFeature['geometry']): Promise<boolean>
}

/**
 * Areas of interest as polygons in their threshold colour. Operators draw and
 * reshape them with Leaflet-Geoman (maintained; leaflet-draw is not).
 */
export class AreaLayer {
  readonly #group = L.featureGroup()
  readonly #layers = new Map<number, L.Polygon>()
  readonly #onAreas = () => this.render()
  /** the area whose details are open: they follow its changes, like an incident's */
  #open: { id: number; popup: L.Popup; version: number } | undefined
  /** the saved area comes back from the store, as everyone else sees it: the drawn one goes */
  readonly #onDrawn = async (event: { layer: L.Layer }) => {
    const layer = event.layer as L.Polygon
    const geometry = (layer.toGeoJSON() as GeoJSON.Feature<AreaFeature['geometry']>).geometry
    await this.actions.drawn(geometry)
    layer.remove()
  }

  constructor(
    private readonly map: L.Map,
    private readonly store: Store,
    private readonly actions: AreaActions,
  ) {
    this.#group.addTo(map)
    store.on('areas', this.#onAreas)
    if (actions.canEdit) map.on('pm:create', this.#onDrawn)
    this.render()
  }

  /** Takes the areas off the map and stops following the store. */
  remove() {
    this.store.off('areas', this.#onAreas)
    this.map.off('pm:create', this.#onDrawn)
    this.#group.remove()
  }

  startDrawing() {
    this.map.pm.enableDraw('Polygon', { snappable: false, allowSelfIntersection: true, templineStyle: { color: '#1f6feb' } })
  }

  stopDrawing() {
    this.map.pm.disableDraw()
  }

  get drawing(): boolean {
    return this.map.pm.globalDrawModeEnabled()
  }

  render() {
    const seen = new Set<number>()
    for (const area of this.store.areas.values()) {
      const id = area.properties.id
      seen.add(id)
      const existing = this.#layers.get(id)
      // a polygon being reshaped stays as the operator has it until saved
      if (existing?.pm.enabled()) continue
      existing?.remove()
      const layer = L.geoJSON(area as GeoJSON.Feature, {
        style: {
          color: SEVERITY_COLOR[area.properties.severity],
          weight: 2,
          fillOpacity: 0.12,
          className: `area area-${id}`,
        },
        bubblingMouseEvents: true,
      }).getLayers()[0] as L.Polygon
      // Operators report incidents by clicking the map, inside areas too, so for
      // them a click goes through to the map and the area's details open on a
      // right-click (or from the Areas list); viewers just click.
      layer.on(this.actions.canEdit ? 'contextmenu' : 'click', (event: L.LeafletMouseEvent) => {
        L.DomEvent.stopPropagation(event)
        this.openDetails(id, event.latlng)
      })
      layer.addTo(this.#group)
      this.#layers.set(id, layer)
    }
    for (const [id, layer] of this.#layers) {
      if (!seen.has(id)) {
        layer.remove()
        this.#layers.delete(id)
      }
    }
    this.#refreshOpenDetails()
  }

  /** The open details show the area as it now is (renamed, new threshold, by anyone), or close when it is gone. */
  #refreshOpenDetails() {
    if (!this.#open) return
    const { id, popup, version } = this.#open
    const area = this.store.areas.get(id)
    const layer = this.#layers.get(id)
    if (!area || !layer) return void this.map.closePopup(popup)
    if (area.properties.version === version) return
    this.#open.version = area.properties.version
    popup.setContent(this.actions.popup(area, layer))
  }

  /** Opens an area's details (and, for operators, its actions). */
  openDetails(id: number, at?: L.LatLng) {
    const layer = this.#layers.get(id)
    const area = this.store.areas.get(id)
    if (!layer || !area) return
    if (!at) this.map.fitBounds(layer.getBounds(), { maxZoom: 12, animate: false })
    const popup = L.popup({ className: 'popup', minWidth: 220 })
      .setLatLng(at ?? layer.getBounds().getCenter())
      .setContent(this.actions.popup(area, layer))
      .openOn(this.map)
    this.#open = { id, popup, version: area.properties.version }
    popup.on('remove', () => {
      if (this.#open?.popup === popup) this.#open = undefined
    })
  }

  /** Makes the areas named in an alert blink for a few seconds. */
  flash(ids: number[]) {
    for (const id of ids) {
      const path = (this.#layers.get(id) as unknown as { _path?: SVGElement } | undefined)?._path
      if (!path) continue
      path.classList.remove('flash')
      void path.getBoundingClientRect() // restart the animation
      path.classList.add('flash')
      setTimeout(() => path.classList.remove('flash'), 2600)
    }
  }
}
