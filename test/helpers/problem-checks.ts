import { afterAll, beforeAll, expect } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { startTestServer, type Backend, type TestServer } from './test-server.ts'

// What every answer to a bad request must be, shared by the bad-input tests:
// a 4xx problem+json that says what was wrong without a stack, and nothing
// written.

export const PROBLEM_JSON = /^application\/problem\+json/

/** something that looks like a stack frame or a source location */
export const STACKISH = /(\n\s*at\s)|(\bat\s+\S+\s+\(\S+:\d+:\d+\))|(\.(?:ts|js|mjs|cjs):\d+)|node_modules|\/work\//

export interface Problem {
  type: string
  title: string
  status: number
  detail: unknown
  errors?: { field: string; in: string; value?: unknown; message: string }[]
  [key: string]: unknown
}

/** Every answer to a bad request: its status, problem+json, a detail, no stack. */
export function expectCleanProblem(response: LightMyRequestResponse, status: number): Problem {
  expect(response.statusCode, response.body.slice(0, 500)).toBe(status)
  expect(response.statusCode).toBeGreaterThanOrEqual(400)
  expect(response.statusCode).toBeLessThan(500)
  expect(response.headers['content-type']).toMatch(PROBLEM_JSON)
  const body = response.json<Problem>()
  expect(body.status).toBe(status)
  expect(typeof body.detail).toBe('string')
  expect(body).not.toHaveProperty('stack')
  for (const text of [body.detail as string, ...(body.errors ?? []).map((e) => e.message)]) {
    expect(text).not.toMatch(STACKISH)
  }
  return body
}

/** The problem names this field (a JSON pointer) of this part of the request. */
export function expectNamesField(body: Problem, field: string, part: string) {
  expect(body.errors, `errors of ${JSON.stringify(body).slice(0, 500)}`).toBeDefined()
  expect(body.errors![0]!.field).toBe(field)
  expect(body.errors![0]!.in).toBe(part)
}

/** How many rows of what a request could write, and what the live map was told. */
export async function rowCounts(server: TestServer) {
  const count = async (table: 'incidents' | 'areas_of_interest' | 'users' | 'sessions') =>
    Number((await server.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return {
    incidents: await count('incidents'),
    areas: await count('areas_of_interest'),
    users: await count('users'),
    sessions: await count('sessions'),
    notifications: (await server.published()).length,
  }
}

export interface BadRequest {
  /** what is wrong, for the counterexample report */
  what: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** `:incident`, `:area` and `:user` are replaced by the ids of the targets */
  url: string
  /** JSON text, sent as application/json */
  raw?: string
  headers?: Record<string, string>
  /** 400 unless said */
  status?: number
  /** the JSON pointer errors[0].field must be, and the part of the request it is in */
  field: string
  part: 'body' | 'querystring' | 'params' | 'headers'
  /** text the detail must contain */
  detail?: string
}

/**
 * A server's targets for bad requests (an incident, an area and a viewer to
 * PATCH or DELETE), sent as the admin, who may call every route; and the
 * state a refused request must leave as it was.
 */
export type BadRequestTargets = Awaited<ReturnType<typeof badRequestTargets>>

/**
 * For a describe block: a test server on `backend` with its
 * badRequestTargets, started before the block's tests and closed after them.
 */
export function withBadRequestTargets(backend: Backend): { readonly server: TestServer; readonly targets: BadRequestTargets } {
  const setup = {} as { server: TestServer; targets: BadRequestTargets }
  beforeAll(async () => {
    setup.server = await startTestServer(backend)
    setup.targets = await badRequestTargets(setup.server)
  })
  afterAll(() => setup.server?.close())
  return setup
}

export async function badRequestTargets(server: TestServer, places: { incident: [number, number]; area: [number, number] } = { incident: [2.35, 48.85], area: [2.35, 48.85] }) {
  const admin = await server.admin()
  const viewer = await server.user('viewer')
  const [ilon, ilat] = places.incident
  const [alon, alat] = places.area
  const incident = await server.app.incidents.create({ name: 'target', geometry: { type: 'Point', coordinates: [ilon, ilat] } }, admin.id)
  const ring = [[alon - 0.5, alat - 0.5], [alon + 0.5, alat - 0.5], [alon + 0.5, alat + 0.5], [alon - 0.5, alat + 0.5], [alon - 0.5, alat - 0.5]] as [number, number][]
  const area = await server.app.areas.create({ name: 'target area', geometry: { type: 'Polygon', coordinates: [ring] } }, admin.id)
  const ids: Record<string, number> = { ':incident': incident.properties.id, ':area': area.properties.id, ':user': viewer.id }

  return {
    ids,
    send(request: BadRequest) {
      const url = request.url.replace(/:(incident|area|user)\b/, (param) => String(ids[param]))
      const headers: Record<string, string> = { authorization: `Bearer ${admin.key}`, ...request.headers }
      if (request.raw === undefined) return server.app.inject({ method: request.method, url, headers })
      return server.app.inject({ method: request.method, url, headers: { ...headers, 'content-type': 'application/json' }, payload: request.raw })
    },
    async state() {
      return {
        counts: await rowCounts(server),
        incident: await server.app.incidents.get(ids[':incident']!),
        area: await server.app.areas.get(ids[':area']!),
        users: await server.app.users.list(),
      }
    },
  }
}

/** Sends it; checks the status, the problem, the field it names, and that nothing changed. */
export async function expectRefusedCleanly(targets: Awaited<ReturnType<typeof badRequestTargets>>, request: BadRequest): Promise<Problem> {
  const before = await targets.state()
  const body = expectCleanProblem(await targets.send(request), request.status ?? 400)
  expectNamesField(body, request.field, request.part)
  if (request.detail !== undefined) expect(body.detail).toContain(request.detail)
  expect(await targets.state()).toEqual(before)
  return body
}
