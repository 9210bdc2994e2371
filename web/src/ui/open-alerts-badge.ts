import type { AlertLog } from '../alert-log.ts'

/**
 * The count of open alerts (nobody has taken them yet) in the page's header,
 * where the room sees it from any tab: the server's summary, as the alert
 * log holds it, so every screen shows the same number.
 */
export function mountOpenAlertsBadge(header: HTMLElement, log: AlertLog): { unmount(): void } {
  const badge = document.createElement('span')
  badge.className = 'badge open-alerts'
  badge.dataset.testid = 'open-alerts'
  badge.innerHTML = '<span data-testid="open-alert-count">…</span> <span>open alerts</span>'
  const count = badge.firstElementChild!
  const words = badge.lastElementChild!
  header.querySelector('h1')!.after(badge)
  const render = () => {
    count.textContent = log.openCount === null ? '…' : String(log.openCount)
    words.textContent = log.openCount === 1 ? 'open alert' : 'open alerts'
    badge.classList.toggle('alerting', (log.openCount ?? 0) > 0)
  }
  log.addEventListener('change', render)
  render()
  return {
    unmount() {
      log.removeEventListener('change', render)
      badge.remove()
    },
  }
}
