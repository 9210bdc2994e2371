import type { AreaFeature, IncidentFeature } from '../../../contracts/features.ts'
import { api } from '../api.ts'
import { sessionEnded } from '../session/session-end.ts'
import type { Store } from '../store.ts'
import type { Notifier } from '../ui/notifier.ts'
import type { ConnectionStatus } from '../ui/connection-status.ts'
import { LiveConnection, type LiveHandlers } from './connection.ts'
import type { AlertLogReader } from './alert-log-reader.ts'

export interface LiveTargets {
  store: Store
  /** reads the alert log and its summary into the store's `alertLog` */
  alerts: AlertLogReader
  notifier: Notifier
  /** shows the socket's state, and whether the map is caught up (ui/connection-status.ts) */
  status: ConnectionStatus
  /** makes the areas an alert names blink on the map */
  flashAreas(ids: number[]): void
  report(error: unknown): void
  /** the status of a job this user started (contracts/jobs.ts) */
  job?: LiveHandlers['job']
}

export interface LiveSubscription {
  /** see LiveConnection#firstAttempt */
  readonly firstAttempt: Promise<void>
  /**
   * everything there is, read once the socket is subscribed: the incidents
   * and areas for the page to load into the store when it is built; the alert
   * log and summary are in the store's `alertLog` once it settles
   */
  readonly firstRead: Promise<[IncidentFeature[], AreaFeature[]]>
  stop(): void
}

const readAll = () => Promise.all([api.incidents(), api.areas()])

/**
 * The store kept current by the live socket: each notification applied, an
 * alert announced and its areas flashed, the count of open alerts read again
 * as alerts change, everything (the alert log too) read again when the
 * socket's history no longer reaches back to what the page has, and the
 * socket's state on the badge.
 *
 * The first read is asked for as soon as the socket is subscribed (see
 * LiveConnection#firstAttempt), so that anything saved from then on arrives
 * live; the store keeps whichever version is newer.
 */
export function startLiveSubscription({ store, alerts, notifier, status, flashAreas, report, job }: LiveTargets): LiveSubscription {
  const live = new LiveConnection({
    notification: (n) => {
      const alert = store.apply(n)
      if (alert) {
        notifier.alert(alert)
        flashAreas(alert.areas.map((a) => a.id))
      }
      if (n.type === 'alert_update') alerts.summaryChanged()
    },
    job: (frame) => job?.(frame),
    reset: () => {
      const map = readAll().then((loaded) => {
        store.load(...loaded)
        status.read()
      })
      map.catch(report)
      alerts.reload().catch(report)
      // the `ready` after a reset comes before the reload is done: the map is not caught up until then
      status.reloading(map)
    },
    state: (state) => status.state(state),
    // ended elsewhere (signed out, expired, revoked): the reload shows the sign-in form
    signedOut: () => sessionEnded(),
  })
  live.start()
  return {
    firstAttempt: live.firstAttempt,
    firstRead: live.firstAttempt.then(async () => {
      const [loaded] = await Promise.all([readAll(), alerts.reload()])
      status.read()
      return loaded
    }),
    stop: () => {
      live.stop()
      alerts.stop()
    },
  }
}
