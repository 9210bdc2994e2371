import type { ConnectionState } from '../live/connection.ts'

/** Hours and minutes, 24-hour: a clock an operations room reads at a glance. */
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })

export interface ConnectionStatus {
  /** the live socket's state (LiveConnection) */
  state(state: ConnectionState): void
  /** the map's data was just read whole from the server (the first read, or a reload after `reset`) */
  read(): void
  /** a reload is under way: the map is not caught up until it is done */
  reloading(done: Promise<unknown>): void
}

/**
 * The live socket's state as a person needs it. A blip says "reconnecting";
 * an outage (the browser offline, or several attempts failed:
 * OFFLINE_AFTER_FAILURES) says since when, and how old the map is: "offline
 * since 14:02 — map as of 14:02". The map is then dimmed, with a note on it,
 * until the socket is back and caught up (its replay done, or the reload a
 * `reset` asked for).
 *
 * "Map as of" is the last moment the map was known current: while the socket
 * is subscribed, every moment; otherwise the last time it was read whole.
 */
export function showConnectionState(badge: HTMLElement, map: HTMLElement): ConnectionStatus {
  const note = document.createElement('div')
  note.className = 'stale-note'
  note.dataset.testid = 'map-stale'
  note.hidden = true
  map.append(note)

  let live = false
  /** when the outage began: the socket dropped, or the first attempt failed */
  let lostAt: Date | null = null
  let asOf: Date | null = null
  let dimmed = false
  let pending = 0
  let last: ConnectionState | 'connecting' = 'connecting'

  const render = () => {
    const outage = last === 'offline' ? lostAt : null
    badge.textContent = outage ? `offline since ${CLOCK.format(outage)} — map as of ${asOf ? CLOCK.format(asOf) : 'never loaded'}` : last
    badge.className = `badge ${last}`
    // the whole text, for where it is cut short (a phone)
    badge.title = outage ? `${badge.textContent}: the page keeps trying; changes made since may be missing from the map` : ''
    const caughtUp = live && pending === 0
    if (outage) dimmed = true
    else if (caughtUp) dimmed = false
    map.classList.toggle('stale', dimmed)
    note.hidden = !dimmed
    note.textContent = asOf ? `Not live: the map as of ${CLOCK.format(asOf)}` : 'Not live'
  }

  return {
    state(state) {
      const now = new Date()
      if (state === 'connected') {
        live = true
        lostAt = null
      } else {
        if (live && pending === 0) asOf = now // current until this moment
        live = false
        lostAt ??= now
      }
      last = state
      render()
    },
    read() {
      if (!live) asOf = new Date()
    },
    reloading(done) {
      pending++
      void done.finally(() => {
        pending--
        render()
      })
      render()
    },
  }
}
