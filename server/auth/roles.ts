import type { Role } from '../../contracts/users.ts'
import type { ActiveSession } from '../repositories/sessions.ts'

/** The roles in order (contracts/users.ts ROLES): each may do what the ones before it may. */
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

export function hasRole(session: ActiveSession | null, role: Role): boolean {
  return !!session && RANK[session.user.role] >= RANK[role]
}
