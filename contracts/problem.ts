import { Type, type Static } from 'typebox'

/** One refused field: where it is in the request, the value found there, and why (for a person). */
export const FieldProblem = Type.Object({
  field: Type.String(),
  in: Type.String(),
  value: Type.Optional(Type.Unknown()),
  message: Type.String(),
  /** where in a geometry the fault lies, [longitude, latitude] (an outline that crosses itself: where it crosses) */
  location: Type.Optional(Type.Tuple([Type.Number(), Type.Number()])),
})
export type FieldProblem = Static<typeof FieldProblem>

/** RFC 9457 problem details: the body of every 4xx and 5xx answer. `detail` is written for a person. */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  errors: Type.Optional(Type.Array(FieldProblem)),
  request_id: Type.Optional(Type.String()),
})
export type Problem = Static<typeof Problem>

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'
