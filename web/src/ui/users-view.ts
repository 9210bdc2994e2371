import { ROLES, type PublicUser, type Role, type SessionUser } from '../../../contracts/users.ts'
import { PASSWORD_LENGTH } from '../../../contracts/user-admin.ts'
import { ApiError } from '../api.ts'
import { formDialog } from './dialog.ts'
import { headerDialog } from './header-dialog.ts'
import { escapeHtml } from './escape-html.ts'
import { usersApi } from './users-api.ts'
import './users.css'

/**
 * What a refusal means to the admin. The one a person is likely to meet is
 * the last-admin rule (409): said with the reason behind it and the way on.
 */
function refusal(error: unknown, user: PublicUser): string {
  if (error instanceof ApiError && error.status === 409 && /last admin/.test(error.message)) {
    return `Refused: ${user.username} is the last admin. There must always be at least one admin, or nobody could manage users from the dashboard again. Make another user admin first.`
  }
  return error instanceof ApiError ? error.message : 'the server could not be reached'
}

const when = (at: string) => new Date(at).toLocaleDateString()

function rowHtml(u: PublicUser, me: SessionUser): string {
  const name = escapeHtml(u.username)
  const roles = ROLES.map((r) => `<option value="${r}"${r === u.role ? ' selected' : ''}>${r}</option>`).join('')
  return `<tr data-id="${u.id}" data-testid="user-row">
    <th scope="row">${name}${u.id === me.id ? ' (you)' : ''}</th>
    <td><select data-action="role" aria-label="Role of ${name}">${roles}</select></td>
    <td>${u.email ? escapeHtml(u.email) : '—'}</td>
    <td>${escapeHtml(when(u.created))}</td>
    <td><div class="row-actions"><button type="button" data-action="password" aria-label="Reset password of ${name}">Reset password</button><button type="button" class="danger" data-action="delete" aria-label="Delete user ${name}">Delete</button></div></td>
  </tr>`
}

/**
 * The admins' user management: a header button opens the list of users
 * (never their passwords), a form to add one (username, password, role,
 * email), and on each row the role, "Reset password" and "Delete". A new
 * role or password signs that user out everywhere (the server does). A
 * refusal is said above the list, in words.
 */
export function mountUsers(header: HTMLElement, me: SessionUser): { unmount(): void } {
  const { dialog, unmount } = headerDialog(header, {
    name: 'users',
    title: 'Users',
    body: `
    <form class="add-user" data-testid="add-user-form" aria-label="Add a user">
      <label>Username <input name="username" required maxlength="64" pattern="[A-Za-z0-9_.@\\-]{1,64}" title="letters, digits and _ . @ -" autocomplete="off"></label>
      <label>Password <input name="password" type="password" required minlength="${PASSWORD_LENGTH.min}" maxlength="${PASSWORD_LENGTH.max}" autocomplete="new-password"></label>
      <label>Role <select name="role">${ROLES.map((r) => `<option value="${r}"${r === 'viewer' ? ' selected' : ''}>${r}</option>`).join('')}</select></label>
      <label>Email (optional) <input name="email" type="email" maxlength="254" autocomplete="off"></label>
      <button type="submit" class="primary">Add user</button>
    </form>
    <p class="error" role="alert" data-testid="users-error"></p>
    <p class="status" role="status" data-testid="users-status"></p>
    <table>
      <caption class="visually-hidden">Users, their roles and actions</caption>
      <thead><tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Email</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody data-testid="user-rows"></tbody>
    </table>`,
    onOpen: () => {
      error.textContent = ''
      status.textContent = ''
      void reload()
    },
  })
  const form = dialog.querySelector<HTMLFormElement>('form')!
  const error = dialog.querySelector<HTMLElement>('.error')!
  const status = dialog.querySelector<HTMLElement>('.status')!
  const rows = dialog.querySelector<HTMLElement>('tbody')!
  let users = new Map<number, PublicUser>()

  const say = (message: string) => {
    error.textContent = ''
    status.textContent = message
  }
  const fail = (message: string) => {
    status.textContent = ''
    error.textContent = message
  }
  const render = (list: PublicUser[]) => {
    users = new Map(list.map((u) => [u.id, u]))
    rows.innerHTML = list.map((u) => rowHtml(u, me)).join('')
  }
  const reload = () => usersApi.list().then(render, (e) => fail(e instanceof ApiError ? e.message : 'the server could not be reached'))

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const email = String(data.get('email') ?? '').trim()
    try {
      const added = await usersApi.add({
        username: String(data.get('username')),
        password: String(data.get('password')),
        role: String(data.get('role')) as Role,
        ...(email && { email }),
      })
      form.reset()
      say(`Added ${added.username} (${added.role}).`)
      await reload()
    } catch (e) {
      fail(e instanceof ApiError ? e.message : 'the server could not be reached')
    }
  })

  const changeRole = async (select: HTMLSelectElement, user: PublicUser) => {
    const role = select.value as Role
    select.disabled = true
    try {
      const changed = await usersApi.change(user.id, { role })
      say(`${changed.username} is now ${changed.role}; their sessions were signed out.`)
    } catch (e) {
      fail(refusal(e, user))
    }
    await reload()
  }

  const resetPassword = async (user: PublicUser) => {
    const saved = await formDialog(`Reset the password of ${user.username}`, [
      { name: 'password', label: `New password (at least ${PASSWORD_LENGTH.min} characters)`, kind: 'password', required: true, maxLength: PASSWORD_LENGTH.max, autocomplete: 'new-password' },
    ], async (values) => {
      await usersApi.change(user.id, { password: values.password ?? '' })
    }, 'Reset password')
    if (saved) say(`The password of ${user.username} was reset; they were signed out everywhere.`)
  }

  const remove = async (user: PublicUser) => {
    const deleted = await formDialog(`Delete user ${user.username}? They are signed out at once; what they reported stays.`, [], async () => {
      try {
        await usersApi.remove(user.id)
      } catch (e) {
        throw new ApiError(e instanceof ApiError ? e.status : 0, refusal(e, user))
      }
    }, 'Delete')
    if (!deleted) return
    say(`Deleted ${user.username}.`)
    await reload()
  }

  rows.addEventListener('change', (event) => {
    const select = (event.target as HTMLElement).closest<HTMLSelectElement>('select[data-action=role]')
    const user = users.get(Number(select?.closest<HTMLElement>('tr')?.dataset.id))
    if (select && user) void changeRole(select, user)
  })
  rows.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]')
    const user = users.get(Number(button?.closest<HTMLElement>('tr')?.dataset.id))
    if (!button || !user) return
    void (button.dataset.action === 'password' ? resetPassword(user) : remove(user)).finally(() => button.isConnected && button.focus())
  })

  return { unmount }
}
