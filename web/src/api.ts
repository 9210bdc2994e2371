import type { AreaFeature, FeaturePage, IncidentFeature } from '../../contracts/features.ts'
import { incidentFromRow, type IncidentRowsPage, type PageCursors } from '../../contracts/incident-rows.ts'
import type { Severity } from '../../contracts/severity.ts'
import type { SessionState, SessionUser } from '../../contracts/users.ts'
import type { ClientConfig } from '../../contracts/client-config.ts'
import type { FieldProblem, Problem } from '../../contracts/problem.ts'
import type { Alert, AlertPage, AlertState, AlertSummary } from '../../contracts/alerts.ts'
import type { History } from '../../contracts/history.ts'
import { sessionEnded } from './session/session-end.ts'

/** A refused request, with the server's own explanation (the problem `detail`) and the fields it names. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly errors: readonly FieldProblem[] = []) {
    super(message)
  }
}

// The session rides in the HttpOnly cookie: the page never sees the key.
// Exported for the modules that call one part of the API (delivery-api.ts).
export async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (response.status === 204) return undefined as T
  // the session ended under the page (expired, or signed out elsewhere): keep what is typed and sign in again
  if (response.status === 401 && !url.startsWith('/api/auth/')) sessionEnded()
  const payload = await response.json().catch(() => ({}))
  if (!response.ok) {
    const problem = payload as Partial<Problem>
    throw new ApiError(response.status, problem.detail ?? response.statusText, problem.errors ?? [])
  }
  return payload as T
}

/** Follows `next_cursor` until the last page, or until `cap` features. */
async function allPages<T>(path: string, cap: number): Promise<T[]> {
  const all: T[] = []
  let cursor: number | null = null
  do {
    const page: FeaturePage<T> = await call('GET', `${path}?limit=10000${cursor === null ? '' : `&cursor=${cursor}`}`)
    all.push(...page.features)
    cursor = page.next_cursor
  } while (cursor !== null && all.length < cap)
  return all
}

/** Incidents are loaded once, up to this many, and then kept current by the live socket. */
export const INCIDENT_CAP = 50_000
const INCIDENT_PAGE = 10_000

/**
 * The first INCIDENT_CAP incidents, oldest first, as compact rows (far fewer
 * bytes than GeoJSON: contracts/incident-rows.ts), every page asked for at
 * once: the server reads and writes one page while the browser parses
 * another, where following `next_cursor` left each side waiting for the
 * other.
 */
async function incidentsAtOnce(): Promise<IncidentFeature[]> {
  const rows = (cursor: number | null) =>
    call<IncidentRowsPage>('GET', `/api/incidents/rows?limit=${INCIDENT_PAGE}${cursor === null ? '' : `&cursor=${cursor}`}`)
  const { cursors } = await call<PageCursors>('GET', `/api/incidents/cursors?limit=${INCIDENT_PAGE}&pages=${Math.ceil(INCIDENT_CAP / INCIDENT_PAGE)}`)
  // each page is turned into features as soon as it arrives, while the others are still on their way
  const pages = await Promise.all(cursors.map((cursor) => rows(cursor).then((page) => ({ features: page.rows.map(incidentFromRow), next: page.next_cursor }))))
  const all = pages.flatMap((page) => page.features)
  // incidents reported since the cursors were counted: one page after another, as before
  for (let next = pages.at(-1)!.next; next !== null && all.length < INCIDENT_CAP; ) {
    const page = await rows(next)
    all.push(...page.rows.map(incidentFromRow))
    next = page.next_cursor
  }
  return all
}

/** The incidents whose name or description contains `text` (GET /api/incidents/rows?q=), oldest first, up to INCIDENT_CAP. */
async function searchIncidents(text: string): Promise<IncidentFeature[]> {
  const found: IncidentFeature[] = []
  let cursor: number | null = null
  do {
    const query = new URLSearchParams({ q: text, limit: String(INCIDENT_PAGE) })
    if (cursor !== null) query.set('cursor', String(cursor))
    const page: IncidentRowsPage = await call('GET', `/api/incidents/rows?${query}`)
    found.push(...page.rows.map(incidentFromRow))
    cursor = page.next_cursor
  } while (cursor !== null && found.length < INCIDENT_CAP)
  return found
}

export const api = {
  config: () => call<ClientConfig>('GET', '/api/client-config'),
  session: () => call<SessionState>('GET', '/api/auth/session'),
  login: (username: string, password: string) => call<{ user: SessionUser; expires: string }>('POST', '/api/auth/login', { username, password }),
  logout: () => call<void>('POST', '/api/auth/logout'),

  incidents: incidentsAtOnce,
  searchIncidents,
  areas: () => allPages<AreaFeature>('/api/areas', Infinity),

  createIncident: (input: { name: string; description: string; severity: Severity; lon: number; lat: number }) =>
    call<IncidentFeature>('POST', '/api/incidents', {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [input.lon, input.lat] },
      properties: { name: input.name, description: input.description, severity: input.severity },
    }),
  updateIncident: (id: number, version: number, changes: { properties?: object; geometry?: object }) =>
    call<IncidentFeature>('PATCH', `/api/incidents/${id}`, { ...changes, properties: { ...changes.properties, version } }),
  deleteIncident: (id: number) => call<void>('DELETE', `/api/incidents/${id}`),
  /** The incident as the server has it now (after a 409, to show what changed meanwhile). */
  incident: (id: number) => call<IncidentFeature>('GET', `/api/incidents/${id}`),

  createArea: (input: { name: string; severity: Severity; geometry: AreaFeature['geometry'] }) =>
    call<AreaFeature>('POST', '/api/areas', { type: 'Feature', geometry: input.geometry, properties: { name: input.name, severity: input.severity } }),
  updateArea: (id: number, version: number, changes: { properties?: object; geometry?: object }) =>
    call<AreaFeature>('PATCH', `/api/areas/${id}`, { ...changes, properties: { ...changes.properties, version } }),
  deleteArea: (id: number) => call<void>('DELETE', `/api/areas/${id}`),
  area: (id: number) => call<AreaFeature>('GET', `/api/areas/${id}`),

  /** One page of the alert log, newest first: only those in `states` (all when empty), older than `cursor`. */
  alerts: (query: { states: readonly AlertState[]; limit: number; cursor?: number | null }) => {
    const params = new URLSearchParams({ limit: String(query.limit) })
    for (const state of query.states) params.append('state', state)
    if (query.cursor != null) params.set('cursor', String(query.cursor))
    return call<AlertPage>('GET', `/api/alerts?${params}`)
  },
  alert: (id: number) => call<Alert>('GET', `/api/alerts/${id}`),
  alertSummary: () => call<AlertSummary>('GET', '/api/alerts/summary'),
  acknowledgeAlert: (id: number, note: string) =>
    call<Alert>('POST', `/api/alerts/${id}/acknowledge`, note ? { note } : {}),

  incidentHistory: (id: number) => call<History>('GET', `/api/incidents/${id}/history`),
}
