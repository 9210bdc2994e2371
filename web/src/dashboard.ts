import L from 'leaflet'
import type { AreaFeature, IncidentFeature } from '../../contracts/features.ts'
import { SEVERITIES, DEFAULT_SEVERITY, type Severity } from '../../contracts/severity.ts'
import { api, ApiError, type ClientConfig, type SessionUser } from './api.ts'
import { Store } from './store.ts'
import { LiveConnection, type ConnectionState } from './live/connection.ts'
import { createBaseMap } from './map/base-map.ts'
import { addLegend } from './map/legend.ts'
import { IncidentLayer } from './map/incident-layer.ts'
import { AreaLayer } from './map/area-layer.ts'
import { mountSidebar } from './ui/sidebar/sidebar.ts'
import { Notifier } from './ui/notifier.ts'
import { formDialog } from './ui/dialog.ts'
import { areaPopup, incidentPopup, type PopupAction } from './ui/popups.ts'
import { escapeHtml } from './ui/escape-html.ts'

/** How long building the map waits for the live socket's handshake (see startDashboard). */
const HANDSHAKE_WAIT_MS = 250

/** The signed-in dashboard: map, sidebar, live socket, and (for operators) the editing tools. */
export async function startDashboard(root: HTMLElement, user: SessionUser, config: ClientConfig) {
  const canEdit = user.role !== 'viewer'
  root.innerHTML = `
    <div class="shell">
      <header class="top">
        <h1>Incident tracker</h1>
        <span class="badge" data-testid="connection-state" role="status">connecting</span>
        <label style="color:#fff;display:flex;gap:4px;align-items:center"><input type="checkbox" data-testid="sound"> sound</label>
        <button type="button" data-testid="desktop-alerts">Desktop alerts</button>
        <span data-testid="current-user">${escapeHtml(user.username)} (${user.role})</span>
        <button type="button" data-testid="sign-out">Sign out</button>
      </header>
      <div class="main"><div id="map" data-testid="map"></div><aside></aside></div>
    </div>`
  const store = new Store()
  const notifier = new Notifier()
  const badge = root.querySelector<HTMLElement>('[data-testid=connection-state]')!
  const report = (error: unknown) => notifier.error(error instanceof ApiError ? error.message : String(error))

  // The network first: the live socket opens, and the first load is asked
  // for as soon as it is subscribed (see LiveConnection#firstAttempt), so
  // that anything saved from then on arrives live; the store keeps whichever
  // version is newer. The server reads while the map and the sidebar are
  // built (150–250 ms on a slow machine).
  const live = new LiveConnection({
    notification: (n) => {
      const alert = store.apply(n)
      if (alert) {
        notifier.alert(alert)
        areas.flash(alert.areas.map((a) => a.id))
      }
    },
    reset: () => void reload().catch(report),
    state: (state: ConnectionState) => {
      badge.textContent = state
      badge.className = `badge ${state}`
    },
    signedOut: () => location.reload(),
  })
  const fetchAll = () => Promise.all([api.incidents(), api.areas()])
  const reload = async () => store.load(...(await fetchAll()))
  live.start()
  const firstLoad = live.firstAttempt.then(fetchAll)
  // The socket's handshake first, then the build: its `ready` is handled on
  // this thread, and behind the build it came 300–400 ms after the socket
  // was created instead of 40–80 ms, and the first read with it. At most
  // HANDSHAKE_WAIT_MS, so a slow socket does not hold up the map. The
  // handlers above use what is built below: nothing but `ready` can arrive
  // before the build (the socket has no `since`), and the build runs in the
  // same task as `ready`, so keep this the only `await` before it.
  await Promise.race([live.firstAttempt, new Promise((resolve) => setTimeout(resolve, HANDSHAKE_WAIT_MS))])
  const map = createBaseMap(root.querySelector<HTMLElement>('#map')!, config)
  addLegend(map)
  // exposed for end-to-end tests and for poking at the map from the console
  ;(window as unknown as { __map__: L.Map }).__map__ = map

  const incidents = new IncidentLayer(map, store, {
    canEdit,
    popup: (incident) => incidentPopup(incident, canEdit ? incidentActions(incident) : []),
    moved: (incident, lon, lat) => {
      const current = store.incidents.get(incident.properties.id) ?? incident
      api.updateIncident(current.properties.id, current.properties.version, { geometry: { type: 'Point', coordinates: [lon, lat] } })
        .then((saved) => store.upsert(saved))
        .catch((error) => {
          report(error)
          incidents.rebuild() // put the marker back where the server has it
        })
    },
  })

  const areas = new AreaLayer(map, store, {
    canEdit,
    popup: (area, layer) => areaPopup(area, canEdit ? areaActions(area, layer) : []),
    drawn: (geometry) => areaDialog('New area of interest', { name: '', severity: DEFAULT_SEVERITY }, async (values) => {
      store.upsert(await api.createArea({ name: values.name!, severity: values.severity as Severity, geometry }))
    }),
  })

  function incidentActions(incident: IncidentFeature): PopupAction[] {
    const p = incident.properties
    return [
      { label: 'Edit', testId: 'edit-incident', run: () => void editIncident(p.id) },
      {
        label: p.closed ? 'Reopen' : 'Close', testId: p.closed ? 'reopen-incident' : 'close-incident',
        run: () => {
          map.closePopup()
          const current = store.incidents.get(p.id)!
          api.updateIncident(p.id, current.properties.version, { properties: { closed: !current.properties.closed } })
            .then((saved) => store.upsert(saved), report)
        },
      },
      {
        label: 'Delete', testId: 'delete-incident', danger: true,
        run: () => {
          if (!confirm(`Delete incident "${p.name}"?`)) return
          map.closePopup()
          api.deleteIncident(p.id).catch(report)
        },
      },
    ]
  }

  async function editIncident(id: number) {
    map.closePopup()
    const current = store.incidents.get(id)!.properties
    await formDialog('Edit incident', incidentFields(current), async (values) => {
      const latest = store.incidents.get(id)!.properties
      store.upsert(await api.updateIncident(id, latest.version, { properties: { name: values.name, description: values.description, severity: values.severity } }))
    })
  }

  function areaActions(area: AreaFeature, layer: L.Polygon): PopupAction[] {
    const p = area.properties
    const reshaping = layer.pm.enabled()
    return [
      {
        label: 'Edit', testId: 'edit-area',
        run: () => {
          map.closePopup()
          void areaDialog('Edit area of interest', p, async (values) => {
            const latest = store.areas.get(p.id)!.properties
            store.upsert(await api.updateArea(p.id, latest.version, { properties: { name: values.name, severity: values.severity } }))
          })
        },
      },
      {
        label: reshaping ? 'Save shape' : 'Edit shape', testId: reshaping ? 'save-shape' : 'edit-shape',
        run: () => {
          map.closePopup()
          if (!layer.pm.enabled()) return layer.pm.enable({ allowSelfIntersection: true })
          layer.pm.disable()
          const geometry = (layer.toGeoJSON() as GeoJSON.Feature<AreaFeature['geometry']>).geometry
          const latest = store.areas.get(p.id)!.properties
          api.updateArea(p.id, latest.version, { geometry })
            .then((saved) => store.upsert(saved))
            .catch((error) => {
              report(error)
              areas.render() // back to the shape the server has
            })
        },
      },
      {
        label: 'Delete', testId: 'delete-area', danger: true,
        run: () => {
          if (!confirm(`Delete area "${p.name}"?`)) return
          map.closePopup()
          api.deleteArea(p.id).catch(report)
        },
      },
    ]
  }

  function incidentFields(p?: { name: string; description: string; severity: Severity }) {
    return [
      { name: 'name', label: 'Name', kind: 'text' as const, value: p?.name ?? '', required: true, maxLength: 150 },
      { name: 'description', label: 'Description', kind: 'textarea' as const, value: p?.description ?? '', maxLength: 1000 },
      { name: 'severity', label: 'Severity', kind: 'select' as const, value: p?.severity ?? DEFAULT_SEVERITY, options: SEVERITIES },
    ]
  }

  function areaDialog(title: string, p: { name: string; severity: Severity }, save: (values: Record<string, string>) => Promise<void>) {
    return formDialog(title, [
      { name: 'name', label: 'Name', kind: 'text', value: p.name, required: true, maxLength: 150 },
      { name: 'severity', label: 'Alert threshold (this severity and above)', kind: 'select', value: p.severity, options: SEVERITIES },
    ], save)
  }

  // Operators report by clicking the map, and draw areas with the tool button.
  if (canEdit) {
    const tools = new L.Control({ position: 'topright' })
    tools.onAdd = () => {
      const div = L.DomUtil.create('div', 'map-tools')
      div.innerHTML = '<button type="button" data-testid="draw-area" aria-pressed="false">Draw area</button>'
      const button = div.querySelector('button')!
      L.DomEvent.disableClickPropagation(div)
      button.onclick = () => {
        if (areas.drawing) areas.stopDrawing()
        else areas.startDrawing()
        button.setAttribute('aria-pressed', String(areas.drawing))
      }
      map.on('pm:drawend', () => button.setAttribute('aria-pressed', 'false'))
      return div
    }
    tools.addTo(map)
    map.on('click', (event: L.LeafletMouseEvent) => {
      if (areas.drawing) return
      const at = event.latlng.wrap()
      void formDialog('Report an incident', incidentFields(), async (values) => {
        store.upsert(await api.createIncident({
          name: values.name!, description: values.description ?? '', severity: values.severity as Severity, lon: at.lng, lat: at.lat,
        }))
      })
    })
  }

  mountSidebar(root.querySelector('aside')!, store, { focusIncident: (id) => incidents.focus(id), focusArea: (id) => areas.openDetails(id) })

  root.querySelector<HTMLInputElement>('[data-testid=sound]')!.onchange = (e) => (notifier.sound = (e.target as HTMLInputElement).checked)
  root.querySelector<HTMLButtonElement>('[data-testid=desktop-alerts]')!.onclick = async (e) => {
    const permission = await notifier.enableDesktopAlerts()
    ;(e.target as HTMLButtonElement).textContent = permission === 'granted' ? 'Desktop alerts on' : 'Desktop alerts blocked'
  }

  root.querySelector<HTMLButtonElement>('[data-testid=sign-out]')!.onclick = async () => {
    live.stop()
    await api.logout().catch(() => {})
    location.reload()
  }

  await firstLoad.then((loaded) => store.load(...loaded)).catch(report)
  document.body.dataset.ready = 'true'
}
