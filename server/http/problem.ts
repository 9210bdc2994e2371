import type { FastifyReply } from 'fastify'
import { Problem, PROBLEM_CONTENT_TYPE, type FieldProblem } from '../../contracts/problem.ts'

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
  428: 'Precondition Required', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
}

/** Answers with a problem body; `detail` names what was wrong (the field and the value). */
export function sendProblem(reply: FastifyReply, status: number, detail: string, errors?: FieldProblem[], requestId?: string) {
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail }
  if (errors?.length) body.errors = errors
  if (requestId !== undefined) body.request_id = requestId
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body)
}

export function problemResponses(...codes: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(codes.map((c) => [c, Problem]))
}
