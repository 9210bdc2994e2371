import type { Alert, AlertPage, AlertState, AlertSummary } from '../../contracts/alerts.ts'

/**
 * Which alerts the panel shows. "All" is the default: the log is the shared
 * record of the shift, and an alert someone acknowledged must stay in sight
 * on every screen (who took it, their note) rather than vanish; "Open only"
 * narrows it to the alerts nobody has taken yet.
 */
export type AlertView = 'all' | 'open'

/** The states each view asks the server for (none: every state). */
export const VIEW_STATES: Record<AlertView, readonly AlertState[]> = { all: [], open: ['open'] }

/**
 * Alerts shown at most, newest first, unless older pages were asked for: a
 * dashboard left open for days must not grow without end. It is also the
 * size of a page read from the server.
 */
export const ALERT_PAGE = 200

// An alert only moves forward (open → acknowledged → resolved), so of two
// copies of one (a live frame, a page read meanwhile) the further one is the newer.
const STAGE: Record<AlertState, number> = { open: 0, acknowledged: 1, resolved: 2 }
const newer = (a: Alert, b: Alert) => (STAGE[b.state] > STAGE[a.state] ? b : a)

/**
 * The shared alert log as this screen has it: the newest alerts of the view,
 * newest first, read a page at a time and kept current by `alert_update`
 * frames; and how many alerts are open, from the server's summary. Emits
 * `change` when either changes.
 */
export class AlertLog extends EventTarget {
  #view: AlertView = 'all'
  /** the view's alerts held, newest (highest id) first */
  #alerts: Alert[] = []
  /** how many to hold: one page, more once older pages are read */
  #limit = ALERT_PAGE
  /** where the next older page starts (`cursor`); null when there is none */
  #older: number | null = null
  /** open alerts (the summary's `by_state.open`); null until first read */
  openCount: number | null = null

  get view(): AlertView {
    return this.#view
  }

  /** The view's alerts, newest first. */
  get alerts(): readonly Alert[] {
    return this.#alerts
  }

  /** The cursor of the next older page, or null when everything is here. */
  get olderCursor(): number | null {
    return this.#older
  }

  get(id: number): Alert | undefined {
    return this.#alerts.find((a) => a.id === id)
  }

  /**
   * A fresh newest page of `view`, replacing what is held. Alerts already held
   * that the page lacks but that belong in its range (or above it: opened
   * after the read) and in the view are kept, as are further-along copies:
   * frames may have arrived while the page was on its way.
   */
  load(view: AlertView, page: AlertPage) {
    const byId = new Map(page.alerts.map((a) => [a.id, a]))
    const oldest = page.next_cursor === null ? -Infinity : page.alerts.at(-1)?.id ?? -Infinity
    for (const held of this.#alerts) {
      const loaded = byId.get(held.id)
      if (loaded) byId.set(held.id, newer(loaded, held))
      else if (held.id >= oldest && matches(view, held)) byId.set(held.id, held)
    }
    this.#view = view
    this.#limit = ALERT_PAGE
    this.#older = page.next_cursor
    this.#alerts = [...byId.values()].filter((a) => matches(view, a)).sort((a, b) => b.id - a.id)
    this.#trim()
    this.#emit()
  }

  /** The next older page (read with `olderCursor`), added at the bottom. */
  loadOlder(view: AlertView, page: AlertPage) {
    if (view !== this.#view) return // the view changed while it was read
    const held = new Set(this.#alerts.map((a) => a.id))
    const older = page.alerts.filter((a) => !held.has(a.id) && matches(view, a))
    this.#alerts.push(...older)
    this.#alerts.sort((a, b) => b.id - a.id)
    this.#limit = Math.max(this.#limit, this.#alerts.length)
    this.#older = page.next_cursor
    this.#emit()
  }

  /** An alert as a live frame carries it: updated in place, added (a new one at the top), or dropped from a view it left. */
  upsert(alert: Alert) {
    const index = this.#alerts.findIndex((a) => a.id === alert.id)
    if (index >= 0) {
      const next = newer(this.#alerts[index]!, alert)
      if (!matches(this.#view, next)) this.#alerts.splice(index, 1)
      else this.#alerts[index] = next
    } else {
      if (!matches(this.#view, alert)) return
      // older than the oldest held, with more beyond: it is not in sight, so it stays unread
      if (this.#older !== null && alert.id < this.#older) return
      let at = this.#alerts.findIndex((a) => a.id < alert.id)
      if (at < 0) at = this.#alerts.length
      this.#alerts.splice(at, 0, alert)
      this.#trim()
    }
    this.#emit()
  }

  /** The server's count, the one to trust after any read. */
  setSummary(summary: AlertSummary) {
    if (this.openCount === summary.by_state.open) return
    this.openCount = summary.by_state.open
    this.#emit()
  }

  #trim() {
    if (this.#alerts.length <= this.#limit) return
    this.#alerts.length = this.#limit
    this.#older = this.#alerts.at(-1)!.id
  }

  #emit() {
    this.dispatchEvent(new Event('change'))
  }
}

const matches = (view: AlertView, alert: Alert) => VIEW_STATES[view].length === 0 || VIEW_STATES[view].includes(alert.state)
