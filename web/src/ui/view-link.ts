import type L from 'leaflet'
import { SEVERITIES, type Severity } from '../../../contracts/severity.ts'
import { MAX_SEARCH_LENGTH } from '../../../contracts/incident-search.ts'
import { noFilters, type Filters, type Store } from '../store.ts'

// The map's view and the filters live in the address's fragment, so a
// reload, a bookmark or a link sent to a colleague opens the same map:
//
//   #map=<zoom>/<lat>/<lon>&severity=urgent,high&closed=hide&window=day&q=fire
//
// The fragment rather than the query string: it never reaches the server,
// and it leaves the query to the links that are about one thing
// (`?incident=`, ui/incident-link.ts). `map=` is OpenStreetMap's own form.
// Only filters that are on are written; a part that makes no sense (an
// unknown severity, a zoom of 40) is left out and its default used. Parts
// of the fragment that are not ours (an anchor) are kept, first, as written.

export interface MapView {
  lat: number
  lon: number
  zoom: number
}

export interface ViewLink {
  view?: MapView
  filters: Partial<Filters>
}

const WINDOWS = ['hour', 'day'] as const
/** the fragment's parts this module writes */
const OURS = new Set(['map', 'severity', 'closed', 'window', 'q'])
const MAX_ZOOM = 19

/** What a fragment asks for (`#` included or not). */
export function readViewLink(hash: string): ViewLink {
  const parts = new Map<string, string>()
  for (const pair of hash.replace(/^#/, '').split('&')) {
    const at = pair.indexOf('=')
    if (at > 0) parts.set(pair.slice(0, at), decode(pair.slice(at + 1)))
  }
  const link: ViewLink = { filters: {} }
  const view = parts.get('map')?.split('/').map(Number)
  if (view?.length === 3 && view.every(Number.isFinite)) {
    const [zoom, lat, lon] = view as [number, number, number]
    if (zoom >= 0 && zoom <= MAX_ZOOM && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) link.view = { zoom, lat, lon }
  }
  const severity = parts.get('severity')
  if (severity !== undefined) {
    const named = severity.split(',').filter((s) => s !== '')
    if (named.every((s): s is Severity => (SEVERITIES as readonly string[]).includes(s))) link.filters.severities = new Set(named)
  }
  if (parts.get('closed') === 'hide') link.filters.showClosed = false
  const window = parts.get('window')
  if ((WINDOWS as readonly (string | undefined)[]).includes(window)) link.filters.window = window as Filters['window']
  const q = parts.get('q')?.trim()
  if (q && q.length <= MAX_SEARCH_LENGTH) link.filters.search = q
  return link
}

/** The fragment (with `#`) for this view and these filters, keeping what of `current` is not ours. */
export function viewLinkOf(view: MapView, filters: Filters, current = ''): string {
  const parts = current.replace(/^#/, '').split('&').filter((part) => part !== '' && !OURS.has(part.split('=', 1)[0]!))
  // finer as the map zooms in: about a pixel's worth of degrees
  const digits = Math.max(1, Math.ceil(Math.log2(Math.max(view.zoom, 1))))
  parts.push(`map=${view.zoom}/${view.lat.toFixed(digits)}/${view.lon.toFixed(digits)}`)
  if (filters.severities.size < SEVERITIES.length) parts.push(`severity=${SEVERITIES.filter((s) => filters.severities.has(s)).join(',')}`)
  if (!filters.showClosed) parts.push('closed=hide')
  if (filters.window !== 'all') parts.push(`window=${filters.window}`)
  if (filters.search) parts.push(`q=${encodeURIComponent(filters.search)}`)
  return `#${parts.join('&')}`
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return value
  }
}

/**
 * Opens the view and the filters the address names, then keeps the address
 * current as the map moves and the filters change (replacing the history
 * entry: a pan is not a page to go back to). Another fragment typed or
 * pasted into the address bar applies at once.
 */
export function mountViewLink(map: L.Map, store: Store): { unmount(): void } {
  const apply = () => {
    const link = readViewLink(location.hash)
    store.setFilters({ ...noFilters(), ...link.filters })
    if (link.view) map.setView([link.view.lat, link.view.lon], link.view.zoom, { animate: false })
  }
  const write = () => {
    const center = map.getCenter().wrap()
    const hash = viewLinkOf({ lat: center.lat, lon: center.lng, zoom: map.getZoom() }, store.filters, location.hash)
    if (hash !== location.hash) history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`)
  }
  apply()
  map.on('moveend', write)
  store.on('filters', write)
  window.addEventListener('hashchange', apply)
  return {
    unmount() {
      window.removeEventListener('hashchange', apply)
      store.off('filters', write)
      map.off('moveend', write)
    },
  }
}
