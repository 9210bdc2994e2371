import type { AlertEntry } from '../store.ts'
import { SEVERITY_COLOR } from '../severity-style.ts'
import { escapeHtml } from './escape-html.ts'

/**
 * How an alert reaches a person: a notice on the page always; a short tone if
 * they turned sound on; a desktop notification while the tab is hidden, if
 * they allowed it (asked for by a button, never on load).
 */
/** Notices on screen at once: a burst of alerts must not bury the map (the alerts panel keeps them all). */
export const MAX_TOASTS = 5
/** at most one tone this often, however many alerts come at once */
const BEEP_GAP_MS = 1000
/** how long a notice stays unless pinned */
export const NOTICE_MS = 8000

export interface NotifierOptions {
  /** flies to an incident and opens its details: where a click on an alert notice leads */
  openIncident?(id: number): void
}

export class Notifier {
  readonly #box: HTMLElement
  sound = false
  #audio: AudioContext | undefined
  #lastBeep = 0
  readonly #openIncident: ((id: number) => void) | undefined

  constructor(options: NotifierOptions = {}) {
    this.#openIncident = options.openIncident
    this.#box = document.createElement('div')
    this.#box.className = 'toasts'
    this.#box.setAttribute('aria-live', 'assertive')
    document.body.append(this.#box)
  }

  alert(entry: AlertEntry) {
    const p = entry.incident.properties
    const areas = entry.areas.map((a) => a.name).join(', ')
    const toast = this.toast(
      `<strong><button type="button" class="toast-open">${escapeHtml(p.severity.toUpperCase())}: ${escapeHtml(p.name)}</button></strong>in ${escapeHtml(areas)}`,
      'alert-toast',
      SEVERITY_COLOR[p.severity],
    )
    toast.dataset.incidentId = String(p.id)
    // the whole notice leads to the incident; its name is the button a keyboard reaches
    toast.classList.add('opens')
    toast.title = 'Show on the map'
    toast.addEventListener('click', (event) => {
      if ((event.target as HTMLElement).closest('button:not(.toast-open)')) return
      this.#openIncident?.(p.id)
    })
    if (this.sound && performance.now() - this.#lastBeep >= BEEP_GAP_MS) {
      this.#lastBeep = performance.now()
      this.#beep()
    }
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      new Notification(`${p.severity.toUpperCase()}: ${p.name}`, { body: `in ${areas}`, tag: `alert-${entry.event}` })
    }
  }

  error(message: string) {
    this.toast(`<strong>Not saved</strong>${escapeHtml(message)}`, 'error-toast', '#7a8b99')
  }

  /** A notice with an Undo button (for longer than a plain notice: it takes a moment to see the slip); the undo runs once. */
  undoable(message: string, undo: () => void) {
    const toast = this.toast(`<span>${escapeHtml(message)}</span> `, 'undo-toast', '#3d8bd6', 15_000)
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Undo', className: 'undo' })
    button.onclick = () => {
      toast.remove()
      undo()
    }
    toast.querySelector('.toast-body')!.append(button)
  }

  /**
   * A notice, gone after `ms` unless pinned. Each has a Pin button (it then
   * stays until dismissed: an alert someone must come back to) and a
   * Dismiss button. Past MAX_TOASTS the oldest unpinned one goes.
   *
   * @returns the notice; its message (`html`, marked with `testId`) is its
   *   `.toast-body`, apart from the Pin and Dismiss buttons
   */
  toast(html: string, testId: string, color: string, ms = NOTICE_MS): HTMLElement {
    const toast = document.createElement('div')
    toast.className = 'toast'
    toast.setAttribute('role', 'group')
    toast.setAttribute('aria-label', 'Notice')
    toast.style.borderLeftColor = color
    const body = document.createElement('div')
    body.className = 'toast-body'
    body.setAttribute('data-testid', testId)
    body.innerHTML = html
    toast.append(body)
    const controls = document.createElement('div')
    controls.className = 'toast-controls'
    const pin = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Pin', className: 'pin' })
    pin.setAttribute('aria-pressed', 'false')
    pin.title = 'Keep this notice until dismissed'
    const dismiss = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Dismiss', className: 'dismiss' })
    controls.append(pin, dismiss)
    toast.append(controls)
    this.#box.prepend(toast)
    let timer = setTimeout(() => toast.remove(), ms)
    // a toggle: pressed, the notice stays; released, it has its full time again
    pin.onclick = () => {
      const pinned = pin.getAttribute('aria-pressed') !== 'true'
      clearTimeout(timer)
      if (pinned) toast.dataset.pinned = 'true'
      else {
        delete toast.dataset.pinned
        timer = setTimeout(() => toast.remove(), ms)
      }
      pin.setAttribute('aria-pressed', String(pinned))
    }
    dismiss.onclick = () => {
      clearTimeout(timer)
      toast.remove()
    }
    // the oldest go first (toasts are newest on top); pinned ones stay until dismissed
    const unpinned = [...this.#box.children].filter((t) => !(t as HTMLElement).dataset.pinned)
    for (const old of unpinned.slice(MAX_TOASTS)) old.remove()
    return toast
  }

  async enableDesktopAlerts(): Promise<NotificationPermission> {
    return 'Notification' in window ? Notification.requestPermission() : 'denied'
  }

  #beep() {
    this.#audio ??= new AudioContext()
    const oscillator = this.#audio.createOscillator()
    const gain = this.#audio.createGain()
    oscillator.frequency.value = 880
    gain.gain.value = 0.1
    oscillator.connect(gain).connect(this.#audio.destination)
    oscillator.start()
    oscillator.stop(this.#audio.currentTime + 0.25)
  }
}
