import './leaflet-global.ts'
import L from 'leaflet'
import 'leaflet.markercluster'
import 'leaflet/dist/leaflet.css'
import 'leaflet.markercluster/dist/MarkerCluster.css'
import 'leaflet.markercluster/dist/MarkerCluster.Default.css'
import './style.css'
import { createBaseMap } from '../../../../web/src/map/base-map.ts'
import { SEVERITY_COLOR } from '../../../../web/src/severity-style.ts'
import { incidentFromRow, type IncidentRowsPage, type PageCursors } from '../../../../contracts/incident-rows.ts'
import type { IncidentFeature } from '../../../../contracts/features.ts'
import type { ClientConfig } from '../../../../contracts/client-config.ts'
import type { ServerFrame } from '../../../../contracts/live.ts'

// The map a Leaflet user would build for the same job: the dashboard's base
// map (the same tiles, outline and options), every incident a marker in a
// Leaflet.markercluster group, loaded with its chunked loading (the option
// its documentation gives for large sets), and live changes applied as they
// come with addLayer/removeLayer on the group. The same incidents, read the
// same way as the dashboard reads them, and the same live socket. Signed in
// by the session cookie the benchmark set.

interface BenchHooks {
  shown(ids: number[]): void
  indexed(points: number): void
}
const bench = () => (window as unknown as { __mapBench__?: BenchHooks }).__mapBench__

async function get<T>(url: string): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin' })
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  return (await response.json()) as T
}

/** As the dashboard reads them (web/src/api.ts): the page cursors first, then every page at once. */
async function loadIncidents(): Promise<IncidentFeature[]> {
  const { cursors } = await get<PageCursors>('/api/incidents/cursors?limit=10000&pages=5')
  const pages = await Promise.all(cursors.map((cursor) => get<IncidentRowsPage>(`/api/incidents/rows?limit=10000${cursor === null ? '' : `&cursor=${cursor}`}`)))
  return pages.flatMap((page) => page.rows.map(incidentFromRow))
}

/** Looks like the dashboard's pin (web/src/map/incident-layer.ts). */
function marker(incident: IncidentFeature): L.Marker {
  const p = incident.properties
  const [lon, lat] = incident.geometry.coordinates
  const size = p.severity === 'urgent' || p.severity === 'high' ? 20 : 16
  const pin = L.marker([lat, lon], {
    icon: L.divIcon({
      className: '',
      html: `<div class="incident-pin" data-incident-id="${p.id}" style="width:${size}px;height:${size}px;background:${SEVERITY_COLOR[p.severity]}"></div>`,
      iconSize: [size, size],
    }),
    title: p.name,
    opacity: p.closed ? 0.6 : 1,
  })
  pin.bindPopup(() => `<b>${p.name.replace(/</g, '&lt;')}</b><br>${p.severity}`)
  return pin
}

/**
 * The dashboard's map is as large as its layout leaves it (a header, a
 * sidebar); the benchmark passes that size (`?map=<width>x<height>`, CSS px) so both maps
 * show the same area.
 */
function sizeLikeTheDashboard() {
  const [width, height] = (new URLSearchParams(location.search).get('map') ?? '').split('x').map(Number)
  if (!width || !height) return
  document.querySelector<HTMLElement>('header.top')!.style.height = `${innerHeight - height}px`
  document.querySelector<HTMLElement>('.main')!.style.gridTemplateColumns = `${width}px 1fr`
}

async function main() {
  sizeLikeTheDashboard()
  const config = await get<ClientConfig>('/api/client-config')
  const map = createBaseMap(document.getElementById('map')!, config)
  ;(window as unknown as { __map__: L.Map }).__map__ = map
  // chunked loading clusters the markers over several tasks and adds them to
  // the map in the last, right after its last progress call: the map shows
  // the full index from the end of that task
  // (the group's own addLayers of nothing, when it is added to the map, reports done too: wait for ours)
  let complete!: () => void
  const completed = new Promise<void>((resolve) => (complete = resolve))
  let loading = -1
  const group = L.markerClusterGroup({ chunkedLoading: true, chunkProgress: (done, total) => done === total && total === loading && queueMicrotask(complete) })
  map.addLayer(group)
  const markers = new Map<number, L.Marker>()
  let loaded = false
  let held: ServerFrame[] = []

  const apply = (frames: ServerFrame[]) => {
    const changed: number[] = []
    for (const frame of frames) {
      if (frame.type !== 'post_save' && frame.type !== 'post_delete') continue
      if (frame.feature.properties.kind !== 'incident') continue
      const incident = frame.feature as IncidentFeature
      const id = incident.properties.id
      const old = markers.get(id)
      if (old) group.removeLayer(old)
      markers.delete(id)
      if (frame.type === 'post_save') {
        const pin = marker(incident)
        markers.set(id, pin)
        group.addLayer(pin)
      }
      changed.push(id)
    }
    if (changed.length) bench()?.shown(changed)
  }

  // subscribed before the read, as the dashboard is: nothing saved in between is missed
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
  const ready = new Promise<void>((resolve) => {
    socket.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as ServerFrame
      if (frame.type === 'ready') return resolve()
      if (loaded) apply([frame])
      else held.push(frame)
    }
    setTimeout(resolve, 5000)
  })
  await ready

  const incidents = await loadIncidents()
  for (const incident of incidents) markers.set(incident.properties.id, marker(incident))
  loading = markers.size
  group.addLayers([...markers.values()])
  document.body.dataset.incidents = String(markers.size)
  document.body.dataset.ready = 'true'
  await completed
  bench()?.indexed(markers.size)
  loaded = true
  apply(held)
  held = []
}

main().catch((error: unknown) => console.error(error))
