import { Type } from 'typebox'

/** `/:id` in a path: a positive PostgreSQL integer, so a bigger number is a 400 rather than a database error. */
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })
