import type { ClientConfig } from '../../contracts/client-config.ts'
import type { SessionUser } from '../../contracts/users.ts'
import { ApiError } from './api.ts'
import { Store } from './store.ts'
import { startLiveSubscription } from './live/subscription.ts'
import { AlertLogReader } from './live/alert-log-reader.ts'
import { mountMapView } from './map/map-view.ts'
import { Editing } from './editing/editing.ts'
import { mountSessionHeader } from './ui/session-header.ts'
import { mountSidebar } from './ui/sidebar/sidebar.ts'
import { Notifier } from './ui/notifier.ts'
import { mountOpenAlertsBadge } from './ui/open-alerts-badge.ts'
import { mountInvitations } from './ui/invitations-view.ts'
import { mountUsers } from './ui/users-view.ts'
import { mountChangePassword } from './ui/change-password.ts'
import { JobListeners } from './live/job-listeners.ts'
import { mountDeliveryMenu } from './ui/alert-delivery/delivery-menu.ts'
import { retryNotice } from './ui/alert-delivery/delivery-words.ts'
import { openLinkedIncident } from './ui/incident-link.ts'
import { mountViewLink } from './ui/view-link.ts'
import { showConnectionState } from './ui/connection-status.ts'
import { startIncidentSearch } from './live/incident-search.ts'
import { escapeHtml } from './ui/escape-html.ts'
import { watchSessionOf } from './session/session-end.ts'
import { takeDraft } from './session/drafts.ts'
import { warnBeforeExpiry } from './session/expiry-warning.ts'
import { mountHeaderMenu } from './ui/header-menu.ts'

/** How long building the map waits for the live socket's handshake (see startDashboard). */
const HANDSHAKE_WAIT_MS = 250

export interface Dashboard {
  stop(): void
}

/** The signed-in dashboard: map, sidebar, live socket, and (for operators) the editing tools. */
export async function startDashboard(root: HTMLElement, user: SessionUser, config: ClientConfig, expires: string | null): Promise<Dashboard> {
  watchSessionOf(user.id)
  root.innerHTML = `
    <div class="shell">
      <header class="top"></header>
      <div class="main"><div id="map" data-testid="map"></div><aside></aside></div>
    </div>`
  const store = new Store()
  // a click on an alert notice flies to its incident and opens it
  const notifier = new Notifier({ openIncident: (id) => view.incidents.focus(id) })
  const report = (error: unknown) => notifier.error(error instanceof ApiError ? error.message : String(error))
  const session = mountSessionHeader(root.querySelector('header')!, user, notifier, () => live.stop())
  const alerts = new AlertLogReader(store.alertLog, report)
  const openAlerts = mountOpenAlertsBadge(root.querySelector('header')!, store.alertLog)
  const notice = (message: string, testId = 'notice-toast') => notifier.toast(escapeHtml(message), testId, '#3d8bd6')
  const stopExpiryWarning = warnBeforeExpiry(expires, notifier)
  const jobs = new JobListeners()
  const stopRetryNotices = jobs.add((frame) => {
    const words = retryNotice(frame)
    if (words) notice(words, 'job-notice')
  })
  const deliveryMenu = mountDeliveryMenu(root.querySelector('header')!, user, { store, jobs, notice })
  const invitations = user.role === 'admin' ? mountInvitations(root.querySelector('header')!, notifier) : undefined
  const stopInvitationJobs = jobs.add((frame) => invitations?.job(frame))
  const users = user.role === 'admin' ? mountUsers(root.querySelector('header')!, user) : undefined
  const changePassword = mountChangePassword(root.querySelector('header')!, notice)
  // every header control is in place: on a phone, all but the title and the state badges go behind Menu
  const unmountHeaderMenu = mountHeaderMenu(root.querySelector('header')!)

  // The network first: the live socket opens, and the first read is asked
  // for as soon as it is subscribed, so that anything saved from then on
  // arrives live. The server reads while the map and the sidebar are built
  // (a noticeable while on a slow machine).
  const live = startLiveSubscription({
    store,
    alerts,
    notifier,
    status: showConnectionState(session.connectionBadge, root.querySelector<HTMLElement>('#map')!),
    flashAreas: (ids) => view.areas.flash(ids),
    report,
    job: (frame) => jobs.dispatch(frame),
  })
  // The socket's handshake first, then the build: its `ready` is handled on
  // this thread, and behind the build it came long after the handshake
  // itself was done, and the first read with it. At most
  // HANDSHAKE_WAIT_MS, so a slow socket does not hold up the map. The
  // subscription uses what is built below (`view`): nothing but `ready` can
  // arrive before the build (the socket has no `since`), and the build runs
  // in the same task as `ready`, so keep this the only `await` before it.
  await Promise.race([live.firstAttempt, new Promise((resolve) => setTimeout(resolve, HANDSHAKE_WAIT_MS))])
  const editing = user.role === 'viewer' ? undefined : new Editing(store, report, (message, undo) => notifier.undoable(message, undo))
  const view = mountMapView(root.querySelector<HTMLElement>('#map')!, config, store, editing)
  editing?.mount(view)
  // the view and filters a link names, before the sidebar shows the filters
  const viewLink = mountViewLink(view.map, store)
  const alertPanel = { log: store.alertLog, reader: alerts, canAcknowledge: user.role !== 'viewer', report }
  const sidebar = mountSidebar(root.querySelector('aside')!, store, alertPanel, {
    focusIncident: (id) => view.incidents.focus(id),
    focusArea: (id) => view.areas.openDetails(id),
  })

  await live.firstRead.then((loaded) => store.load(...loaded)).catch(report)
  document.body.dataset.ready = 'true'
  const search = startIncidentSearch(store, report)
  // an alert mail's link (PUBLIC_URL/?incident=<id>)
  void openLinkedIncident({ store, focus: (id) => view.incidents.focus(id), notice, report })
  // a form left open when the session ended, typed into: open it again as it was
  const draft = takeDraft(user.id)
  if (draft && editing) editing.restore(draft)

  return {
    stop() {
      live.stop()
      search.stop()
      viewLink.unmount()
      sidebar.unmount()
      editing?.unmount()
      view.unmount()
      openAlerts.unmount()
      invitations?.unmount()
      users?.unmount()
      changePassword.unmount()
      deliveryMenu.unmount()
      unmountHeaderMenu()
      stopExpiryWarning()
      stopRetryNotices()
      stopInvitationJobs()
      session.unmount()
    },
  }
}
