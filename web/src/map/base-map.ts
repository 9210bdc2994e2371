import L from 'leaflet'
import { feature } from 'topojson-client'
import type { Topology, GeometryCollection } from 'topojson-specification'
import countries from 'world-atlas/countries-110m.json'
import type { ClientConfig } from '../../../contracts/client-config.ts'

/**
 * The map with its base: configured tiles (OpenStreetMap by default) over a
 * bundled low-resolution world outline (Natural Earth, from world-atlas), so
 * land and borders still show where tiles can't be loaded: an offline
 * operations room, or the test machines.
 */
export function createBaseMap(element: HTMLElement, config: ClientConfig): L.Map {
  const map = L.map(element, {
    worldCopyJump: true,
    zoomControl: true,
    // Pins hide for the 250 ms of a zoom animation (Leaflet's own option)
    // instead of each gliding to its new place: each gliding pin is a layer
    // of its own that a browser without a GPU composites in software on every
    // frame, and pins were most of the layers in the benchmark's view. The
    // clusters' canvas still scales with the zoom, and the view is redrawn at
    // the new zoom anyway, where clusters split or merge. Panning and zooming
    // at 50 000 incidents ran smoother without them (docs/performance-log.md).
    markerZoomAnimation: false,
  }).setView([20, 0], 2)
  map.createPane('outline').style.zIndex = '150' // below tiles (200): tiles cover it once they load
  const topology = countries as unknown as Topology<{ countries: GeometryCollection }>
  L.geoJSON(unwrapAntimeridian(feature(topology, topology.objects.countries)), {
    pane: 'outline',
    interactive: false,
    style: { color: '#7d8c99', weight: 0.8, fillColor: '#eef0e6', fillOpacity: 1 },
  }).addTo(map)
  const tiles = L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19, crossOrigin: true })
  tiles.on('tileloadstart', ({ tile }: L.TileEvent) => flattenTile(tile))
  tiles.addTo(map)
  // Leaflet counts two taps' clicks on its container within 250 ms as a
  // double tap and zooms in, wherever in the container they were: a tap on
  // a popup's or a control's button and then on the map zoomed the map. Their
  // clicks stop at them (their own buttons have already had them).
  for (const element of [map.getPane('popupPane')!, map.getContainer().querySelector<HTMLElement>('.leaflet-control-container')!]) {
    L.DomEvent.on(element, 'click', L.DomEvent.stopPropagation)
  }
  return map
}

/**
 * Leaflet places each tile with `translate3d`, and a 3D transform makes every
 * tile a compositing layer of its own. A browser without a GPU (the test
 * machines, many an operations-room PC) composites those layers in software
 * on every frame of a pan. Tiles never move on their own (their pane does),
 * so the same offset as a 2D `translate` paints them into their zoom level's
 * one layer instead. Measured side by side, panning with 50 000 incidents
 * drew more frames a second for less of the page's CPU per frame
 * (docs/performance-log.md).
 */
function flattenTile(tile: HTMLElement) {
  tile.style.transform = tile.style.transform.replace(/translate3d\(([^,]+),\s*([^,]+),[^)]*\)/, 'translate($1, $2)')
}

type Ring = [number, number][]

/**
 * Rings that cross the antimeridian (Russia's east, Fiji) jump from +180 to
 * -180 and Leaflet would draw a band across the whole map; shifting their
 * western half by 360° draws them whole, just past the edge.
 */
function unwrapAntimeridian<T extends GeoJSON.FeatureCollection>(collection: T): T {
  const fixRing = (ring: Ring): Ring => {
    const crosses = ring.some((p, i) => i > 0 && Math.abs(p[0] - ring[i - 1]![0]) > 180)
    return crosses ? ring.map(([lon, lat]) => [lon < 0 ? lon + 360 : lon, lat]) : ring
  }
  for (const f of collection.features) {
    const g = f.geometry
    if (g.type === 'Polygon') g.coordinates = (g.coordinates as Ring[]).map(fixRing)
    else if (g.type === 'MultiPolygon') g.coordinates = (g.coordinates as Ring[][]).map((poly) => poly.map(fixRing))
  }
  return collection
}
