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

export class Notifier {
  readonly #box: HTMLElement
  sound = false
  #audio: AudioContext | undefined
  #lastBeep = 0

  constructor() {
    this.#box = document.createElement('div')
    this.#box.className = 'toasts'
    this.#box.setAttribute('aria-live', 'assertive')
    document.body.append(this.#box)
  }

  alert(entry: AlertEntry) {
    const p = entry.incident.properties
    const areas = entry.areas.map((a) => a.name).join(', ')
    this.toast(
      `<strong>${escapeHtml(p.severity.toUpperCase())}: ${escapeHtml(p.name)}</strong>in ${escapeHtml(areas)}`,
      'alert-toast',
      SEVERITY_COLOR[p.severity],
    )
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
    toast.append(button)
  }

  toast(html: string, testId: string, color: string, ms = 8000): HTMLElement {
    const toast = document.createElement('div')
    toast.className = 'toast'
    toast.style.borderLeftColor = color
    toast.setAttribute('data-testid', testId)
    toast.innerHTML = html
    this.#box.prepend(toast)
    // the oldest go first (toasts are newest on top)
    while (this.#box.children.length > MAX_TOASTS) this.#box.lastElementChild!.remove()
    setTimeout(() => toast.remove(), ms)
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
