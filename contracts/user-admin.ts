import { Type, type Static } from 'typebox'
import { Role, Username } from './users.ts'
import { Email } from './invitations.ts'

// Managing accounts: admins add, change and remove users (/api/users);
// everyone changes their own password (/api/me/password).

/** How long a password may be: long enough to resist guessing, short enough that hashing it stays cheap. */
export const PASSWORD_LENGTH = { min: 8, max: 200 } as const
export const Password = Type.String({ minLength: PASSWORD_LENGTH.min, maxLength: PASSWORD_LENGTH.max })

/** POST /api/users */
export const NewUser = Type.Object({ username: Username, password: Password, role: Role, email: Type.Optional(Email) }, { additionalProperties: false })
export type NewUser = Static<typeof NewUser>

/** PATCH /api/users/:id: a new role or password signs that user out everywhere; an address (null: none) does not. */
export const UserChanges = Type.Object(
  { role: Type.Optional(Role), password: Type.Optional(Password), email: Type.Optional(Type.Union([Email, Type.Null()])) },
  { additionalProperties: false, minProperties: 1 },
)
export type UserChanges = Static<typeof UserChanges>

/** PUT /api/me/password: the signed-in user's own change, proved by the current password. */
export const PasswordChange = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: PASSWORD_LENGTH.max }), new_password: Password },
  { additionalProperties: false },
)
export type PasswordChange = Static<typeof PasswordChange>

/** What PUT /api/me/password answers: how many of the user's other sessions were signed out. */
export const PasswordChanged = Type.Object({ other_sessions_signed_out: Type.Integer({ minimum: 0 }) })
export type PasswordChanged = Static<typeof PasswordChanged>
