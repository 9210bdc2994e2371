import type { Role } from '../../contracts/users.ts'
import type { UserRepository } from '../repositories/users.ts'
import { ROLES } from '../../contracts/users.ts'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/passwords.ts'

export const COMMANDS = ['add', 'list', 'set-role', 'reset-password', 'delete'] as const

export interface UserCommand {
  command: string
  username?: string | undefined
  role?: string | undefined
  password?: string | undefined
}

export interface UserCommandResult {
  output: string
  /** sessions of this user were revoked: close their live connections */
  revokedUserId?: number
}

export class UsageError extends Error {}

const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/

/**
 * What `npm run user` does, whether it runs here or inside the server that
 * owns the embedded data folder. Every argument is checked before anything
 * changes; errors name the option and the value (never a password).
 */
export async function runUserCommand(users: UserRepository, input: UserCommand): Promise<UserCommandResult> {
  const command = input.command
  if (command === 'list') {
    const all = await users.list()
    return { output: all.map((u) => `${u.id}\t${u.username}\t${u.role}\t${u.created}`).join('\n') }
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${command}": use one of ${COMMANDS.join(', ')}`)
  }
  const username = requireUsername(input.username)
  if (command === 'add') {
    const user = await users.create(username, requirePassword(input.password), requireRole(input.role))
    return { output: `added ${user.username} (${user.role}), id ${user.id}` }
  }
  const existing = await users.findByUsername(username)
  if (!existing) throw new UsageError(`--username "${username}": no such user`)
  if (command === 'set-role') {
    const user = await users.update(existing.id, { role: requireRole(input.role) })
    return { output: `${user.username} is now ${user.role}; their sessions were signed out`, revokedUserId: user.id }
  }
  if (command === 'reset-password') {
    await users.update(existing.id, { password: requirePassword(input.password) })
    return { output: `password of ${username} changed; their sessions were signed out`, revokedUserId: existing.id }
  }
  await users.remove(existing.id)
  return { output: `deleted ${username}`, revokedUserId: existing.id }
}

function requireUsername(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--username is required')
  if (!USERNAME.test(value)) throw new UsageError(`--username "${value}" must be 1-64 letters, digits or _ . @ -`)
  return value
}

function requireRole(value: string | undefined): Role {
  if (value === undefined) throw new UsageError(`--role is required: one of ${ROLES.join(', ')}`)
  if (!(ROLES as readonly string[]).includes(value)) throw new UsageError(`--role "${value}" must be one of ${ROLES.join(', ')}`)
  return value as Role
}

function requirePassword(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--password or --password-stdin is required')
  if (value.length < MIN_PASSWORD_LENGTH || value.length > MAX_PASSWORD_LENGTH) {
    throw new UsageError(`the password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters (got ${value.length})`)
  }
  return value
}
