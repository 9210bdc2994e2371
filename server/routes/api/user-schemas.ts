import { Type } from 'typebox'

export const RoleSchema = Type.Enum(['viewer', 'operator', 'admin'])

export const SessionUserSchema = Type.Object({ id: Type.Integer(), username: Type.String(), role: RoleSchema })

export const PublicUserSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  role: RoleSchema,
  created: Type.String({ format: 'date-time' }),
})

export const Username = Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$', description: 'letters, digits and _ . @ -; at most 64' })
