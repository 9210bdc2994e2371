import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// Bodies are validated strictly: a string where a number belongs is an error,
// not something to coerce, and an unknown field is refused rather than
// silently dropped (Fastify's default removes it). Query strings and params are
// text by nature, so they are coerced ("10" -> 10, repeated keys -> arrays).

const common: Options = { allErrors: false, strict: false, useDefaults: true, removeAdditional: false }
const strictAjv = addFormats.default(new Ajv({ ...common, coerceTypes: false }))
const coercingAjv = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }))

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema)

export interface FieldError {
  /** JSON pointer into the request part, e.g. `/geometry/coordinates/0` */
  field: string
  in: string
  value: unknown
  message: string
}

/** Turns Ajv's errors into one error per bad field, with the offending value. */
export function describeValidation(errors: ErrorObject[], part: string, data: unknown): FieldError[] {
  const chosen = preferDeepestBranch(errors)
  return chosen.map((e) => {
    let field = e.instancePath
    let message = e.message ?? 'is invalid'
    if (e.message?.startsWith('must be one of')) {
      // already merged from several branches by preferDeepestBranch
    } else if (e.keyword === 'additionalProperties') {
      field += `/${escapePointer(String(e.params.additionalProperty))}`
      message = 'is not an allowed field'
    } else if (e.keyword === 'required') {
      field += `/${escapePointer(String(e.params.missingProperty))}`
      message = 'is required'
    } else if (e.keyword === 'const') {
      message = `must be ${JSON.stringify(e.params.allowedValue)}`
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`
    }
    return { field: field || '/', in: part, value: pointer(data, field), message }
  })
}

// A union (a Feature or the flat form; a Polygon or a MultiPolygon) fails in
// every branch. The branch that got furthest into the input is the one the
// client meant, so report its error rather than all of them. A branch that
// failed only because `type` is missing (or present where that branch has
// none) is the one the client did *not* mean, so it loses ties.
function preferDeepestBranch(errors: ErrorObject[]): ErrorObject[] {
  const real = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
  if (real.length <= 1) return real.length ? real : errors.slice(0, 1)
  const onDiscriminator = (e: ErrorObject) =>
    (e.keyword === 'required' && e.params.missingProperty === 'type') ||
    (e.keyword === 'additionalProperties' && e.params.additionalProperty === 'type')
  // ...and so does a branch whose `type` did not match, when another branch
  // matched it and failed further on in the same object (a MultiPolygon with
  // too many polygons is not a Polygon of the wrong type)
  const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/'))
  const wrongType = (e: ErrorObject) =>
    e.keyword === 'const' && e.instancePath.endsWith('/type') &&
    real.some((o) => o.instancePath.startsWith(`${parentOf(e.instancePath)}/`) && !o.instancePath.endsWith('/type'))
  const depth = (e: ErrorObject) =>
    e.instancePath.split('/').length +
    (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 1 : 0) -
    (onDiscriminator(e) || wrongType(e) ? 0.5 : 0)
  const deepest = Math.max(...real.map(depth))
  const best = real.filter((e) => depth(e) === deepest)
  // several const branches at one spot (a literal union): say so once
  if (best.every((e) => e.keyword === 'const') && best.length > 1) {
    const allowed = best.map((e) => JSON.stringify(e.params.allowedValue)).join(', ')
    return [{ ...best[0]!, message: `must be one of ${allowed}` }]
  }
  return [best[0]!]
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')

function pointer(data: unknown, path: string): unknown {
  let value: unknown = data
  for (const raw of path.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}
