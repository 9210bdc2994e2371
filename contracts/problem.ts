import { Type, type Static } from 'typebox'

/** RFC 9457 problem details: the body of every 4xx and 5xx answer. `detail` is written for a person. */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  errors: Type.Optional(
    Type.Array(Type.Object({ field: Type.String(), in: Type.String(), value: Type.Optional(Type.Unknown()), message: Type.String() })),
  ),
  request_id: Type.Optional(Type.String()),
})
export type Problem = Static<typeof Problem>

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'
