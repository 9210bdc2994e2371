import type { PublicUser } from '../../../contracts/users.ts'
import type { NewUser, PasswordChange, PasswordChanged, UserChanges } from '../../../contracts/user-admin.ts'
import { call } from '../api.ts'

/** Accounts: the admins' user management (/api/users), and everyone's own password. */
export const usersApi = {
  list: () => call<PublicUser[]>('GET', '/api/users'),
  add: (user: NewUser) => call<PublicUser>('POST', '/api/users', user),
  change: (id: number, changes: UserChanges) => call<PublicUser>('PATCH', `/api/users/${id}`, changes),
  remove: (id: number) => call<void>('DELETE', `/api/users/${id}`),
  changeMyPassword: (change: PasswordChange) => call<PasswordChanged>('PUT', '/api/me/password', change),
}
