import type { SessionUser } from '../../../contracts/users.ts'
import { api } from '../api.ts'
import { signingOutOnPurpose } from '../session/session-end.ts'
import type { Notifier } from './notifier.ts'
import { escapeHtml } from './escape-html.ts'

export interface SessionHeader {
  /** where the live socket's state shows */
  readonly connectionBadge: HTMLElement
  unmount(): void
}

/**
 * The header: who is signed in and the way out, the live socket's state, and
 * how alerts reach this person (sound, desktop notifications).
 *
 * @param signingOut called before the session ends: the live socket stops
 *   first, so the server closing it for the ended session is not taken for
 *   a sign-out from elsewhere
 */
export function mountSessionHeader(header: HTMLElement, user: SessionUser, notifier: Notifier, signingOut: () => void): SessionHeader {
  header.innerHTML = `
        <h1>Incident tracker</h1>
        <span class="badge" data-testid="connection-state" role="status">connecting</span>
        <label style="color:#fff;display:flex;gap:4px;align-items:center"><input type="checkbox" data-testid="sound"> sound</label>
        <button type="button" data-testid="desktop-alerts">Desktop alerts</button>
        <span data-testid="current-user">${escapeHtml(user.username)} (${user.role})</span>
        <button type="button" data-testid="sign-out">Sign out</button>
      `
  const sound = header.querySelector<HTMLInputElement>('[data-testid=sound]')!
  const desktopAlerts = header.querySelector<HTMLButtonElement>('[data-testid=desktop-alerts]')!
  const signOut = header.querySelector<HTMLButtonElement>('[data-testid=sign-out]')!

  sound.onchange = () => (notifier.sound = sound.checked)
  desktopAlerts.onclick = async () => {
    const permission = await notifier.enableDesktopAlerts()
    desktopAlerts.textContent = permission === 'granted' ? 'Desktop alerts on' : 'Desktop alerts blocked'
  }
  signOut.onclick = async () => {
    signingOutOnPurpose()
    signingOut()
    await api.logout().catch(() => {})
    location.reload()
  }

  return {
    connectionBadge: header.querySelector<HTMLElement>('[data-testid=connection-state]')!,
    unmount() {
      header.replaceChildren()
    },
  }
}
