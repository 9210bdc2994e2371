import fp from 'fastify-plugin'
import type { FastifyError, FastifyRequest } from 'fastify'
import { describeValidation, type FieldError } from '../../http/validation.ts'
import { sendProblem } from '../../http/problem.ts'
import { isDatabaseUnreachable } from '../../../db/unreachable.ts'
import type { FieldProblem } from '../../../contracts/problem.ts'
import { ConflictError, InvalidFieldError, InvalidGeometryError, NotFoundError, VersionConflictError } from '../../errors.ts'

/** what a 503 for a database outage asks the client to wait: a restart or failover takes seconds */
const RETRY_AFTER_SECONDS = 5

/**
 * One error handler for the whole app: 4xx answers say what was wrong, naming
 * the field and the value; 5xx answers say only that it failed and give the
 * request id, while the log gets the error itself. No stack reaches a client.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.validation) {
        const part = error.validationContext ?? 'body'
        const errors = describeValidation(error.validation as never, part, requestPart(request, part))
        return sendProblem(reply, 400, errors.map(sentence).join('; '), errors)
      }
      if (error instanceof InvalidFieldError) {
        const field: FieldProblem = { field: error.field, in: error.part, value: error.value, message: error.message }
        if (error instanceof InvalidGeometryError) {
          field.message = error.words
          if (error.location) field.location = error.location
        }
        return sendProblem(reply, 400, error.message, [field])
      }
      if (error instanceof ConflictError) {
        return sendProblem(reply, 409, error.message, [{ field: error.field, in: 'body', value: error.value, message: error.message }])
      }
      if (error instanceof NotFoundError || error instanceof VersionConflictError) {
        return sendProblem(reply, error.statusCode, error.message)
      }
      if (isDatabaseUnreachable(error)) {
        // an outage, not a bug: logged once per request without the noise of a 500, and the client told when to retry
        request.log.warn({ err: error }, 'the database is unreachable')
        reply.header('retry-after', String(RETRY_AFTER_SECONDS))
        return sendProblem(reply, 503, 'the database is unreachable; try again shortly')
      }
      const databaseProblem = fromDatabaseError(error)
      if (databaseProblem) return sendProblem(reply, databaseProblem.status, databaseProblem.detail)

      const status = error.statusCode ?? 500
      if (status >= 400 && status < 500) return sendProblem(reply, status, error.message)
      request.log.error({ err: error }, 'request failed')
      const detail = `the server failed to handle this request; quote request id ${request.id} when reporting it`
      return sendProblem(reply, 500, detail, undefined, String(request.id))
    })

    app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, `no route for ${request.method} ${request.url.split('?')[0]}`))
  },
  { name: 'errors' },
)

function sentence(e: FieldError) {
  const value = e.value === undefined ? '' : ` (got ${truncate(JSON.stringify(e.value))})`
  return `${e.in}${e.field === '/' ? '' : e.field} ${e.message}${value}`
}

const truncate = (s: string | undefined) => (s && s.length > 80 ? `${s.slice(0, 77)}...` : s)

function requestPart(request: FastifyRequest, part: string): unknown {
  if (part === 'querystring') return request.query
  if (part === 'params') return request.params
  if (part === 'headers') return request.headers
  return request.body
}

// The last line of defence: the repositories validate first, but a constraint
// the database enforces is still the client's mistake, not a server failure.
function fromDatabaseError(error: unknown): { status: number; detail: string } | undefined {
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined
  const constraint = (error as { constraint?: string }).constraint
  if (code === '23505') return { status: 409, detail: `that value is already taken${constraint ? ` (${constraint})` : ''}` }
  if (code === '23514') return { status: 400, detail: `the input breaks the rule ${constraint ?? 'of the table'}` }
  if (code === '22021') return { status: 400, detail: 'text must not contain NUL (\\u0000) characters' }
  if (code === '22P02' || code === '22023' || code === 'XX000' && /GeoJSON|geometry/i.test(String((error as Error).message))) {
    return { status: 400, detail: `the database refused the input: ${(error as Error).message}` }
  }
  return undefined
}
