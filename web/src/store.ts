import type { AreaFeature, IncidentFeature } from '../../contracts/features.ts'
import type { Notification } from '../../contracts/live.ts'
import { SEVERITIES, type Severity } from '../../contracts/severity.ts'
import { AlertLog } from './alert-log.ts'

export type TimeWindow = 'hour' | 'day' | 'all'

export interface Filters {
  severities: Set<Severity>
  showClosed: boolean
  /** by when the incident was reported */
  window: TimeWindow
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
  readonly filters: Filters = { severities: new Set(SEVERITIES), showClosed: true, window: 'all' }
  /** the last DEDUPE_WINDOW events applied (a Set iterates in insertion order: the first is the oldest); delivery is at-least-once */
  readonly #applied = new Set<number>()

  on(change: Change, listener: () => void): void {
    this.addEventListener(change, listener)
  }

  off(change: Change, listener: () => void): void {
    this.removeEventListener(change, listener)
  }

  #emit(change: Change) {
    this.dispatchEvent(new Event(change))
  }

  /** Replaces everything with a fresh load, keeping any live update that is newer than what was loaded. */
  load(incidents: IncidentFeature[], areas: AreaFeature[]) {
    replace(this.incidents, incidents)
    replace(this.areas, areas)
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
    const current = map.get(feature.properties.id)
    if (n.type === 'post_delete') map.delete(feature.properties.id)
    // an older version arriving late (replay after a local save) must not undo a newer one
    else if (!current || current.properties.version <= feature.properties.version) map.set(feature.properties.id, feature)
    this.#emit(isIncident ? 'incidents' : 'areas')
    return undefined
  }

  /** A save made here: shown at once, before its notification arrives. */
  upsert(feature: IncidentFeature | AreaFeature) {
    const map = (feature.properties.kind === 'incident' ? this.incidents : this.areas) as Map<number, typeof feature>
    // the answer to a save can come after the live frame of someone's newer save: it must not undo that
    const current = map.get(feature.properties.id)
    if (current && current.properties.version > feature.properties.version) return
    map.set(feature.properties.id, feature)
    this.#emit(feature.properties.kind === 'incident' ? 'incidents' : 'areas')
  }

  setFilters(change: Partial<Filters>) {
    Object.assign(this.filters, change)
    this.#emit('filters')
  }

  visibleIncidents(now = Date.now()): IncidentFeature[] {
    const { severities, showClosed, window } = this.filters
    const since = window === 'hour' ? now - 3600_000 : window === 'day' ? now - 86_400_000 : -Infinity
    const out: IncidentFeature[] = []
    for (const f of this.incidents.values()) {
      const p = f.properties
      if (!severities.has(p.severity) || (!showClosed && p.closed)) continue
      if (since > -Infinity && Date.parse(p.created) < since) continue
      out.push(f)
    }
    return out
  }
}

function replace<T extends IncidentFeature | AreaFeature>(map: Map<number, T>, loaded: T[]) {
  const before = new Map(map)
  map.clear()
  for (const f of loaded) {
    const newer = before.get(f.properties.id)
    map.set(f.properties.id, newer && newer.properties.version > f.properties.version ? newer : f)
  }
}
