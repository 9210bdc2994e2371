import type { SessionUser } from '../../../contracts/users.ts'
import { api, ApiError } from '../api.ts'

/**
 * The sign-in form; resolves with the user (and when the session ends at
 * the latest) once signed in. `notice` says why the form shows (the session
 * ended under the dashboard).
 */
export function showLogin(root: HTMLElement, notice?: string): Promise<{ user: SessionUser; expires: string }> {
  root.innerHTML = `
    <div class="login">
      <form data-testid="login-form">
        <h1>Incident tracker</h1>
        <p class="notice" role="status" data-testid="login-notice" hidden></p>
        <label>Username <input name="username" autocomplete="username" required autofocus></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        <p class="error" role="alert" data-testid="login-error"></p>
        <button class="primary" type="submit">Sign in</button>
      </form>
    </div>`
  const form = root.querySelector('form')!
  const error = root.querySelector<HTMLElement>('.error')!
  if (notice) {
    const shown = root.querySelector<HTMLElement>('.notice')!
    shown.textContent = notice
    shown.hidden = false
  }
  return new Promise((resolve) => {
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const data = new FormData(form)
      error.textContent = ''
      try {
        const { user, expires } = await api.login(String(data.get('username')), String(data.get('password')))
        resolve({ user, expires })
      } catch (e) {
        error.textContent = e instanceof ApiError ? e.message : 'the server could not be reached'
      }
    })
  })
}
