import { PASSWORD_LENGTH } from '../../../contracts/user-admin.ts'
import { ApiError } from '../api.ts'
import { formDialog } from './dialog.ts'
import { usersApi } from './users-api.ts'

/**
 * Everyone's "Change password": a header button opening a form that asks
 * for the current password and the new one twice. The server signs out the
 * user's other sessions (a password that leaked is no use to whoever holds
 * one of them); this page stays signed in.
 */
export function mountChangePassword(header: HTMLElement, notice: (message: string) => void): { unmount(): void } {
  const open = document.createElement('button')
  open.type = 'button'
  open.textContent = 'Change password'
  open.setAttribute('data-testid', 'change-password-open')
  open.setAttribute('aria-haspopup', 'dialog')
  header.insertBefore(open, header.querySelector('[data-testid=sign-out]'))

  open.onclick = async () => {
    let signedOut = 0
    const changed = await formDialog('Change your password', [
      { name: 'current_password', label: 'Current password', kind: 'password', required: true, maxLength: PASSWORD_LENGTH.max, autocomplete: 'current-password' },
      { name: 'new_password', label: `New password (at least ${PASSWORD_LENGTH.min} characters)`, kind: 'password', required: true, maxLength: PASSWORD_LENGTH.max, autocomplete: 'new-password' },
      { name: 'repeat', label: 'New password again', kind: 'password', required: true, maxLength: PASSWORD_LENGTH.max, autocomplete: 'new-password' },
    ], async (values) => {
      const { current_password = '', new_password = '', repeat } = values
      if (new_password !== repeat) throw new ApiError(400, 'The new password and its repeat differ: type the same one twice.')
      if (new_password.length < PASSWORD_LENGTH.min) throw new ApiError(400, `The new password is too short: at least ${PASSWORD_LENGTH.min} characters.`)
      try {
        signedOut = (await usersApi.changeMyPassword({ current_password, new_password })).other_sessions_signed_out
      } catch (error) {
        // the server names the field; a person wants the sentence
        if (error instanceof ApiError && error.status === 400 && /current_password/.test(error.message)) throw new ApiError(400, 'The current password is not right.')
        throw error
      }
    }, 'Change password')
    open.focus()
    if (changed) notice(`Your password was changed.${signedOut ? ` ${signedOut} other session${signedOut === 1 ? ' was' : 's were'} signed out.` : ''}`)
  }

  return {
    unmount() {
      open.remove()
    },
  }
}
