import L from 'leaflet'

/** A cluster of incidents as the cluster index reports it. */
export interface Cluster {
  id: number
  count: number
  lon: number
  lat: number
}

const FILL = '#2b4a6f'

/** Diameter in px: bigger clusters read as bigger at a glance. */
function clusterDiameter(count: number): number {
  return count < 100 ? 34 : count < 1000 ? 42 : 52
}

/** A cluster as drawn: its centre in layer points (valid at `ClusterCanvas#zoom`) and radius. */
interface Drawn extends Cluster {
  x: number
  y: number
  radius: number
}

/**
 * The incident clusters, all drawn on one canvas instead of one DOM marker
 * each.
 *
 * Why: a browser that composites in software (no GPU: the test machines, and
 * many an operations-room PC) draws every marker element as a layer of its
 * own on every frame. With 50 000 incidents a view holds hundreds of
 * clusters, and panning fell to a fraction of the empty map's frame rate
 * (docs/performance-log.md). One canvas costs about the same whatever it holds.
 * Single incidents stay DOM markers (incident-layer.ts): they are few in any
 * view, and they are what operators drag, focus and click.
 *
 * The canvas lies above the areas and below the incident pins, and takes no
 * pointer events: a canvas that did would hide the areas under it from the
 * mouse (Leaflet's SVG lets events through where it draws nothing; a canvas
 * cannot). So this layer finds the cluster under the pointer itself, from
 * listeners on the map's container that run before Leaflet's: a click on a
 * cluster is the cluster's (`onClick`), and hovering one shows its count.
 */
export class ClusterCanvas extends L.Layer {
  #map: L.Map | undefined
  #canvas: HTMLCanvasElement | undefined
  #clusters: Cluster[] = []
  #drawn: Drawn[] = []
  /** the zoom the drawn positions are for */
  #zoom = NaN
  /** layer point of the canvas's top left corner */
  #origin = L.point(0, 0)
  #font = ''
  readonly #tooltip = L.tooltip({ direction: 'top', className: 'cluster-tooltip', opacity: 0.95 })
  #hovered: Drawn | undefined
  /** where the last press began: a click that ends a drag of the map is not a click on a cluster */
  #pressedAt: { x: number; y: number } | undefined
  readonly #listeners: [string, (event: MouseEvent) => void][] = [
    ['pointerdown', (event) => (this.#pressedAt = { x: event.clientX, y: event.clientY })],
    ['click', (event) => this.#onClick(event)],
    ['dblclick', (event) => this.#onClick(event)],
    ['mousemove', (event) => this.#onHover(event)],
    // leaving the map, not one of its tiles or panes (captured here on their way)
    ['mouseleave', (event) => event.target === event.currentTarget && this.#hover(undefined)],
  ]

  constructor(private readonly onClick: (cluster: Cluster) => void) {
    super()
  }

  override onAdd(map: L.Map): this {
    this.#map = map
    const pane = map.getPane('clusters') ?? map.createPane('clusters')
    pane.style.zIndex = '450' // above the areas' overlay pane (400), below markers (600)
    pane.style.pointerEvents = 'none'
    this.#canvas = L.DomUtil.create('canvas', 'cluster-canvas leaflet-zoom-animated', pane)
    this.#canvas.setAttribute('aria-hidden', 'true') // the incident list is the accessible way to every incident
    this.#font = `700 12px ${getComputedStyle(map.getContainer()).fontFamily}`
    const container = map.getContainer()
    for (const [type, listener] of this.#listeners) container.addEventListener(type, listener as EventListener, { capture: true })
    this.#draw()
    return this
  }

  override onRemove(map: L.Map): this {
    const container = map.getContainer()
    for (const [type, listener] of this.#listeners) container.removeEventListener(type, listener as EventListener, { capture: true })
    this.#hover(undefined)
    this.#canvas?.remove()
    this.#canvas = undefined
    this.#map = undefined
    return this
  }

  /** the same functions each time: Leaflet unsubscribes by identity */
  #events: { [name: string]: L.LeafletEventHandlerFn } | undefined

  override getEvents(): { [name: string]: L.LeafletEventHandlerFn } {
    // after a zoom, or a jump, the drawn positions are stale: draw the same
    // clusters where they now are until the incident layer sends the new ones
    return (this.#events ??= { zoomanim: (event) => this.#animateZoom(event as L.ZoomAnimEvent), zoomend: this.#draw, viewreset: this.#draw, resize: this.#draw })
  }

  /** Shows exactly these clusters (the view's, from the cluster index). */
  show(clusters: Cluster[]) {
    this.#clusters = clusters
    this.#draw()
  }

  /** The canvas follows the zoom animation, scaled, as Leaflet's own renderers do. */
  #animateZoom(event: L.ZoomAnimEvent) {
    const map = this.#map
    if (!map || !this.#canvas) return
    // where the canvas's top left will be at the new zoom (Leaflet computes
    // the same with private methods; these are the public pieces of it)
    const topLeft = map.layerPointToLatLng(this.#origin)
    const pixelOrigin = map.project(event.center, event.zoom).subtract(map.getSize().divideBy(2)).add(L.DomUtil.getPosition(map.getPane('mapPane')!)).round()
    L.DomUtil.setTransform(this.#canvas, map.project(topLeft, event.zoom).subtract(pixelOrigin), map.getZoomScale(event.zoom))
  }

  #draw = () => {
    const map = this.#map
    const canvas = this.#canvas
    if (!map || !canvas) return
    const size = map.getSize()
    const ratio = window.devicePixelRatio || 1
    // resizing reallocates the bitmap: only when the map's size changed
    if (canvas.width !== Math.round(size.x * ratio) || canvas.height !== Math.round(size.y * ratio)) {
      canvas.width = Math.round(size.x * ratio)
      canvas.height = Math.round(size.y * ratio)
      canvas.style.width = `${size.x}px`
      canvas.style.height = `${size.y}px`
    }
    this.#origin = map.containerPointToLayerPoint([0, 0]).round()
    L.DomUtil.setPosition(canvas, this.#origin)
    this.#zoom = map.getZoom()

    const ctx = canvas.getContext('2d')!
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
    ctx.clearRect(0, 0, size.x, size.y)
    ctx.font = this.#font
    ctx.textAlign = 'center'
    ctx.textBaseline = 'middle'
    this.#drawn = []
    for (const cluster of this.#clusters) {
      const at = map.latLngToLayerPoint([cluster.lat, cluster.lon])
      const radius = clusterDiameter(cluster.count) / 2
      const x = at.x - this.#origin.x
      const y = at.y - this.#origin.y
      if (x < -radius || y < -radius || x > size.x + radius || y > size.y + radius) continue
      this.#drawn.push({ ...cluster, x: at.x, y: at.y, radius })
      // a faint dark ring stands in for the DOM clusters' shadow (a canvas
      // shadow blur per cluster costs more than all the rest of the drawing)
      ctx.beginPath()
      ctx.arc(x, y + 0.5, radius, 0, 2 * Math.PI)
      ctx.fillStyle = 'rgba(0, 0, 0, 0.3)'
      ctx.fill()
      ctx.beginPath()
      ctx.arc(x, y, radius - 1, 0, 2 * Math.PI)
      ctx.fillStyle = FILL
      ctx.fill()
      ctx.lineWidth = 2
      ctx.strokeStyle = '#fff'
      ctx.stroke()
      ctx.fillStyle = '#fff'
      ctx.fillText(String(cluster.count), x, y)
    }
    // how many are drawn, for tests and benchmarks: a canvas shows nothing to the DOM
    canvas.dataset.clusters = String(this.#drawn.length)
    // what was under the pointer may have moved away, or changed its count
    if (this.#hovered) this.#hover(this.#drawn.find((d) => d.id === this.#hovered!.id && d.count === this.#hovered!.count))
  }

  /** The cluster under a pointer event, if the event is not for something above the clusters (a pin, a popup, a control). */
  #hit(event: MouseEvent): Drawn | undefined {
    const map = this.#map
    if (!map || this.#drawn.length === 0 || map.getZoom() !== this.#zoom) return undefined
    if ((event.target as Element).closest?.('.leaflet-marker-icon, .leaflet-popup, .leaflet-control')) return undefined
    const p = map.mouseEventToLayerPoint(event)
    // the last drawn is on top
    for (let i = this.#drawn.length - 1; i >= 0; i--) {
      const d = this.#drawn[i]!
      if ((p.x - d.x) ** 2 + (p.y - d.y) ** 2 <= d.radius ** 2) return d
    }
    return undefined
  }

  #onClick(event: MouseEvent) {
    const pressed = this.#pressedAt
    if (pressed && Math.hypot(event.clientX - pressed.x, event.clientY - pressed.y) > 4) return // the map was dragged
    const cluster = this.#hit(event)
    if (!cluster) return
    // the cluster's alone: not the map's (no "report an incident" here, no double-click zoom) nor an area's beneath it
    event.stopPropagation()
    event.preventDefault()
    if (event.type === 'click') this.onClick(cluster)
  }

  #onHover(event: MouseEvent) {
    this.#hover(event.buttons === 0 ? this.#hit(event) : undefined)
  }

  #hover(cluster: Drawn | undefined) {
    const map = this.#map
    if (!map) return
    map.getContainer().classList.toggle('over-cluster', cluster !== undefined)
    if (cluster === this.#hovered && (!cluster || map.hasLayer(this.#tooltip))) return
    this.#hovered = cluster
    if (!cluster) {
      map.closeTooltip(this.#tooltip)
      return
    }
    this.#tooltip.options.offset = [0, -cluster.radius]
    this.#tooltip.setLatLng([cluster.lat, cluster.lon]).setContent(`${cluster.count} incidents`)
    map.openTooltip(this.#tooltip)
  }
}
