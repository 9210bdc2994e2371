import { api } from '../api.ts'
import { ALERT_PAGE, VIEW_STATES, type AlertLog, type AlertView } from '../alert-log.ts'

/** The least time between two reads of the summary while alerts keep changing. */
export const SUMMARY_GAP_MS = 500

/**
 * Reads the alert log from the server into an AlertLog: the newest page of a
 * view (at first, after a `reset`, on a change of view), older pages on
 * request, and the summary, again after each `alert_update`, at most every
 * SUMMARY_GAP_MS: the count of open alerts is the server's, never a sum kept
 * here, so it can't drift from what the other screens show.
 */
export class AlertLogReader {
  /** the newest reload asked for: answers to older ones are dropped */
  #reload = 0
  #summaryAsked = 0
  #summaryApplied = 0
  #summaryBusy = false
  #summaryAgain = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false

  constructor(
    private readonly log: AlertLog,
    private readonly report: (error: unknown) => void,
  ) {}

  /** The newest page of `view` (the current one by default) and the summary. */
  async reload(view: AlertView = this.log.view): Promise<void> {
    const reload = ++this.#reload
    const [page] = await Promise.all([api.alerts({ states: VIEW_STATES[view], limit: ALERT_PAGE }), this.#readSummary()])
    if (reload === this.#reload && !this.#stopped) this.log.load(view, page)
  }

  /** The page before the oldest alert held. */
  async loadOlder(): Promise<void> {
    const { view, olderCursor } = this.log
    if (olderCursor === null) return
    const reload = this.#reload
    const page = await api.alerts({ states: VIEW_STATES[view], limit: ALERT_PAGE, cursor: olderCursor })
    if (reload === this.#reload && !this.#stopped) this.log.loadOlder(view, page)
  }

  /** An alert changed somewhere: read the summary now, or once the last read is SUMMARY_GAP_MS old. */
  summaryChanged() {
    if (this.#summaryBusy) {
      this.#summaryAgain = true
      return
    }
    this.#summaryBusy = true
    this.#readSummary()
      .catch(this.report)
      .finally(() => {
        this.#timer = setTimeout(() => {
          this.#summaryBusy = false
          if (this.#summaryAgain && !this.#stopped) {
            this.#summaryAgain = false
            this.summaryChanged()
          }
        }, SUMMARY_GAP_MS)
      })
  }

  stop() {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  async #readSummary() {
    const asked = ++this.#summaryAsked
    const summary = await api.alertSummary()
    // an answer to an earlier question arriving late must not undo a later one
    if (asked < this.#summaryApplied || this.#stopped) return
    this.#summaryApplied = asked
    this.log.setSummary(summary)
  }
}
