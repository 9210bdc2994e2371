import type { AreaFeature, IncidentFeature } from '../../contracts/features.ts'
import type { Notification } from '../../contracts/live.ts'
import { SEVERITIES, type Severity } from '../../contracts/severity.ts'
import { matchesSearch } from '../../contracts/incident-search.ts'
import { AlertLog } from './alert-log.ts'

export type TimeWindow = 'hour' | 'day' | 'all'

export interface Filters {
  severities: Set<Severity>
  showClosed: boolean
  /** by when the incident was reported */
  window: TimeWindow
  /** text its name or description contains ('' for any): the server's `q` (IncidentSearch) */
  search: string
}

/** No filter: every incident shows. */
export const noFilters = (): Filters => ({ severities: new Set(SEVERITIES), showClosed: true, window: 'all', search: '' })

/** Whether these filters can hide an incident. */
export const filtersOn = (f: Filters) => f.severities.size < SEVERITIES.length || !f.showClosed || f.window !== 'all' || f.search !== ''

/**
 * The server's answer to the search being typed, and what changed since it
 * was asked for: the server decides for the incidents as it saw them (by id
 * and version), the page's own match (the same rule) for those saved since.
 */
interface SearchAnswer {
  text: string
  /** id → version of each incident the server found; null while it is asked */
  found: Map<number, number> | null
  /** incidents saved since the question was sent */
  changed: Set<number>
}

/** The alert rule firing, as the live `alert` frame tells it: what the notice, the sound and the flash are made of. */
export interface AlertEntry {
  event: number
  at: Date
  incident: IncidentFeature
  areas: { id: number; name: string; severity: Severity }[]
}

type Change = 'incidents' | 'areas' | 'filters'

/**
 * Events remembered to drop a second delivery of one. A duplicate comes from
 * a replay after a reconnect overlapping what had arrived live, or from the
 * relay publishing again after a failure: recent events, never days old.
 */
export const DEDUPE_WINDOW = 10_000

/**
 * What the dashboard knows: incidents and areas by id, the alert log, and
 * the filters. The map and the list both read `visibleIncidents()`, so
 * they always agree.
 */
export class Store extends EventTarget {
  readonly incidents = new Map<number, IncidentFeature>()
  readonly areas = new Map<number, AreaFeature>()
  /** the shared alert log, kept current by `alert_update` frames */
  readonly alertLog = new AlertLog()
  readonly filters: Filters = noFilters()
  #search: SearchAnswer = { text: '', found: null, changed: new Set() }
  /** the last DEDUPE_WINDOW events applied (a Set iterates in insertion order: the first is the oldest); delivery is at-least-once */
  readonly #applied = new Set<number>()

  /** `incidents` listeners may read which incidents changed with `changedIncidents(event)` */
  on(change: Change, listener: (event: Event) => void): void {
    this.addEventListener(change, listener)
  }

  off(change: Change, listener: (event: Event) => void): void {
    this.removeEventListener(change, listener)
  }

  /** @param ids the incidents that changed, when only they did (a live update, a save): the map shows them without re-clustering the rest */
  #emit(change: Change, ids?: number[]) {
    this.dispatchEvent(new CustomEvent<ChangedIncidents>(change, { detail: ids ? { ids } : undefined }))
  }

  /** Replaces everything with a fresh load, keeping any live update that is newer than what was loaded. */
  load(incidents: IncidentFeature[], areas: AreaFeature[]) {
    replace(this.incidents, incidents)
    replace(this.areas, areas)
    // read again: the search's answer is asked again too (IncidentSearch)
    if (this.#search.text) this.#search = { text: this.#search.text, found: null, changed: new Set() }
    this.#emit('incidents')
    this.#emit('areas')
  }

  /** Applies one live notification; returns the alert it announces, if any (the log is kept by `alert_update`). */
  apply(n: Notification): AlertEntry | undefined {
    if (this.#applied.has(n.event)) return undefined
    this.#applied.add(n.event)
    if (this.#applied.size > DEDUPE_WINDOW) this.#applied.delete(this.#applied.values().next().value!)
    if (n.type === 'alert') return { event: n.event, at: new Date(), incident: n.feature, areas: n.areas_of_interest }
    if (n.type === 'alert_update') {
      this.alertLog.upsert(n.alert)
      return undefined
    }
    const feature = n.feature
    const isIncident = feature.properties.kind === 'incident'
    const map = (isIncident ? this.incidents : this.areas) as Map<number, typeof feature>
    if (isIncident) this.#search.changed.add(feature.properties.id)
    const current = map.get(feature.properties.id)
    if (n.type === 'post_delete') map.delete(feature.properties.id)
    // an older version arriving late (replay after a local save) must not undo a newer one
    else if (!current || current.properties.version <= feature.properties.version) map.set(feature.properties.id, feature)
    if (isIncident) this.#emit('incidents', [feature.properties.id])
    else this.#emit('areas')
    return undefined
  }

  /** A save made here: shown at once, before its notification arrives. */
  upsert(feature: IncidentFeature | AreaFeature) {
    const map = (feature.properties.kind === 'incident' ? this.incidents : this.areas) as Map<number, typeof feature>
    // the answer to a save can come after the live frame of someone's newer save: it must not undo that
    const current = map.get(feature.properties.id)
    if (current && current.properties.version > feature.properties.version) return
    map.set(feature.properties.id, feature)
    if (feature.properties.kind === 'incident') {
      this.#search.changed.add(feature.properties.id)
      this.#emit('incidents', [feature.properties.id])
    } else this.#emit('areas')
  }

  setFilters(change: Partial<Filters>) {
    Object.assign(this.filters, change)
    if (this.filters.search !== this.#search.text) this.#search = { text: this.filters.search, found: null, changed: new Set() }
    this.#emit('filters')
  }

  /** The search text the server is to be asked about (it has not answered it), if any. */
  unansweredSearch(): string | null {
    return this.#search.text && !this.#search.found ? this.#search.text : null
  }

  /**
   * The server found these for `text` (GET /api/incidents?q=): they decide
   * the search from now on. Any the page has not loaded (beyond the first
   * load's cap) are added, so the search reaches every incident.
   */
  searchAnswered(text: string, found: IncidentFeature[]) {
    if (text !== this.#search.text) return // typed on since
    this.#search.found = new Map(found.map((f) => [f.properties.id, f.properties.version]))
    let added = false
    for (const f of found) {
      if (this.incidents.has(f.properties.id) || this.#search.changed.has(f.properties.id)) continue
      this.incidents.set(f.properties.id, f)
      added = true
    }
    if (added) this.#emit('incidents')
    this.#emit('filters')
  }

  visibleIncidents(now = Date.now()): IncidentFeature[] {
    const visible = this.visibility(now)
    const out: IncidentFeature[] = []
    for (const f of this.incidents.values()) if (visible(f)) out.push(f)
    return out
  }

  /** Whether the filters show an incident (what `visibleIncidents` picks by), for asking of a few. */
  visibility(now = Date.now()): (f: IncidentFeature) => boolean {
    const { severities, showClosed, window, search } = this.filters
    const since = window === 'hour' ? now - 3600_000 : window === 'day' ? now - 86_400_000 : -Infinity
    const { found, changed } = this.#search
    return (f) => {
      const p = f.properties
      if (!severities.has(p.severity) || (!showClosed && p.closed)) return false
      if (since > -Infinity && Date.parse(p.created) < since) return false
      if (search && !searchMatch(p, search, found, changed)) return false
      return true
    }
  }
}

/** What an `incidents` event says changed: these incidents only; none said, anything may have. */
export interface ChangedIncidents {
  ids: number[]
}

/** The incidents an `incidents` event names as all that changed; undefined when anything may have. */
export const changedIncidents = (event: Event): number[] | undefined => (event as CustomEvent<ChangedIncidents | undefined>).detail?.ids

/** The server's answer for an incident as it saw it; the page's own match while it is asked, and for one saved since. */
function searchMatch(p: IncidentFeature['properties'], text: string, found: Map<number, number> | null, changed: Set<number>): boolean {
  if (found && !changed.has(p.id)) {
    const version = found.get(p.id)
    if (version === undefined) return false
    if (version === p.version) return true
  }
  return matchesSearch(p, text)
}

function replace<T extends IncidentFeature | AreaFeature>(map: Map<number, T>, loaded: T[]) {
  const before = new Map(map)
  map.clear()
  for (const f of loaded) {
    const newer = before.get(f.properties.id)
    map.set(f.properties.id, newer && newer.properties.version > f.properties.version ? newer : f)
  }
}
