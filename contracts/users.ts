import { Type, type Static } from 'typebox'

/** Highest last: `viewer` watches, `operator` also reports and edits, `admin` also manages users. */
export const ROLES = ['viewer', 'operator', 'admin'] as const
export const Role = Type.Enum(ROLES, { description: 'viewer < operator < admin' })
export type Role = (typeof ROLES)[number]

export const Username = Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$', description: 'letters, digits and _ . @ -; at most 64' })

/** Who a session belongs to: what the dashboard is told after signing in. */
export const SessionUser = Type.Object({ id: Type.Integer(), username: Type.String(), role: Role })
export type SessionUser = Static<typeof SessionUser>

/** GET /api/auth/session: who this browser is signed in as, and until when at the latest */
export const SessionState = Type.Object({
  user: Type.Union([SessionUser, Type.Null()]),
  expires: Type.Union([Type.String({ format: 'date-time', description: 'the absolute expiry: however busy, the session ends then (SESSION_ABSOLUTE_SECONDS)' }), Type.Null()]),
})
export type SessionState = Static<typeof SessionState>

/** A user as the user list shows it: never the password hash. */
export const PublicUser = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  role: Role,
  email: Type.Union([Type.String(), Type.Null()], { description: 'where alert mail goes (GET/PUT /api/me/subscription); null: none' }),
  created: Type.String({ format: 'date-time' }),
})
export type PublicUser = Static<typeof PublicUser>
