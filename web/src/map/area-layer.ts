import L from 'leaflet'
import { nameShapeHandles } from './handle-names.ts'
import '@geoman-io/leaflet-geoman-free'
import type { AreaFeature } from '../../../contracts/features.ts'
import type { Store } from '../store.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'

export interface AreaActions {
  canEdit: boolean
  popup(area: AreaFeature, layer: L.Polygon): HTMLElement
  /** a polygon was drawn: the layer is handed over (to save, keep for fixing, or remove) */
  drawn(layer: L.Polygon): void
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
  readonly #onDrawn = (event: { layer: L.Layer }) => this.actions.drawn(event.layer as L.Polygon)

  readonly #unnameHandles: () => void

  constructor(
    private readonly map: L.Map,
    private readonly store: Store,
    private readonly actions: AreaActions,
  ) {
    this.#group.addTo(map)
    store.on('areas', this.#onAreas)
    if (actions.canEdit) map.on('pm:create', this.#onDrawn)
    this.#unnameHandles = actions.canEdit ? nameShapeHandles(map) : () => {}
    this.render()
  }

  /** Takes the areas off the map and stops following the store. */
  remove() {
    this.store.off('areas', this.#onAreas)
    this.map.off('pm:create', this.#onDrawn)
    this.#unnameHandles()
    this.#group.remove()
  }

  startDrawing() {
    this.map.pm.enableDraw('Polygon', {
      snappable: false,
      allowSelfIntersection: true,
      templineStyle: { color: '#1f6feb' },
      // a drawn polygon is kept (and fixed) until saved: this tells it from the saved areas
      pathOptions: { color: '#1f6feb', className: 'drawn-area' },
    })
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
      // A click or a tap opens the area's details (and an operator's actions);
      // a right-click too, as it did. While the operator places a report or
      // draws, areas let clicks through to the map (see MapTools).
      const open = (event: L.LeafletMouseEvent) => {
        L.DomEvent.stopPropagation(event)
        this.openDetails(id, event.latlng)
      }
      layer.on('click', open).on('contextmenu', open)
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

  /**
   * Opens an area's details (and, for operators, its actions). Opened from
   * elsewhere than the map (the Areas list), the keyboard focus moves into
   * the popup, so its buttons are the next Tab away.
   */
  openDetails(id: number, at?: L.LatLng) {
    const layer = this.#layers.get(id)
    const area = this.store.areas.get(id)
    if (!layer || !area) return
    if (!at) this.map.fitBounds(layer.getBounds(), { maxZoom: 12, animate: false })
    const content = this.actions.popup(area, layer)
    const popup = L.popup({ className: 'popup', minWidth: 220 })
      .setLatLng(at ?? layer.getBounds().getCenter())
      .setContent(content)
      .openOn(this.map)
    if (!at) content.querySelector<HTMLElement>('button')?.focus()
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
