import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BACKENDS } from '../../../helpers/test-server.ts'
import { withBadRequestTargets, expectCleanProblem, expectRefusedCleanly } from '../../../helpers/problem-checks.ts'

// JSON nested thousands of levels deep, on every route that takes a JSON
// body, sign-in included. Parsing it is cheap; what came after it (the
// validator, the serializer echoing the bad value back) recursed and
// overflowed the stack: a 500. Past 64 levels the body is refused as the
// client's mistake, naming where it got too deep, and nothing is written.

const MAX_DEPTH = 64
const NUM_RUNS = 40

interface JsonRoute {
  method: 'POST' | 'PATCH'
  /** `:incident`, `:area` and `:user` are the ids of the targets */
  url: string
  /** where in an otherwise plausible body the deep value may sit */
  places: string[][]
}

const ROUTES: JsonRoute[] = [
  { method: 'POST', url: '/api/auth/login', places: [[], ['username'], ['password']] },
  { method: 'POST', url: '/api/users', places: [[], ['role'], ['password']] },
  { method: 'PATCH', url: '/api/users/:user', places: [[], ['password']] },
  { method: 'POST', url: '/api/incidents', places: [[], ['geometry'], ['properties'], ['location'], ['properties', 'name']] },
  { method: 'PATCH', url: '/api/incidents/:incident', places: [[], ['properties', 'version'], ['geometry', 'coordinates']] },
  { method: 'POST', url: '/api/areas', places: [[], ['geometry', 'coordinates'], ['properties']] },
  { method: 'PATCH', url: '/api/areas/:area', places: [[], ['geometry'], ['properties', 'severity']] },
]

type Shape = 'arrays' | 'objects' | 'both'

/**
 * A body whose value at `place` nests `levels` containers, as JSON text (the
 * test's own JSON.stringify would overflow on it), and the pointer of the
 * first container past MAX_DEPTH. The body itself is level 1.
 */
function deepBody(place: string[], levels: number, shape: Shape): { text: string; pointer: string } {
  const kinds = Array.from({ length: levels }, (_, i) => (shape === 'arrays' || (shape === 'both' && i % 2 === 0) ? '[' : '{'))
  const open = place.map((key) => `{${JSON.stringify(key)}:`).join('') + kinds.map((k) => (k === '[' ? '[' : '{"a":')).join('')
  const close = kinds.map((k) => (k === '[' ? ']' : '}')).reverse().join('') + '}'.repeat(place.length)
  const segments = [...place, ...kinds.slice(0, MAX_DEPTH - place.length).map((k) => (k === '[' ? '0' : 'a'))]
  return { text: `${open}1${close}`, pointer: segments.map((s) => `/${s}`).join('') }
}

describe.each(BACKENDS)('JSON nested too deep on %s', (backend) => {
  const setup = withBadRequestTargets(backend)

  const what = (route: JsonRoute, place: string[], levels: number, shape: Shape) =>
    `${levels} levels of ${shape} at /${place.join('/')} of ${route.method} ${route.url}`

  function refusedAsTooDeep(route: JsonRoute, place: string[], levels: number, shape: Shape) {
    const { text, pointer } = deepBody(place, levels, shape)
    return expectRefusedCleanly(setup.targets, {
      what: what(route, place, levels, shape), method: route.method, url: route.url, raw: text,
      field: pointer, part: 'body', detail: `deeper than ${MAX_DEPTH} levels`,
    })
  }

  it('refuses 5 000 levels on every JSON route, sign-in included, with a 400 naming where', async () => {
    for (const route of ROUTES) {
      for (const place of route.places) await refusedAsTooDeep(route, place, 5000, 'arrays')
      await refusedAsTooDeep(route, [], 5000, 'objects')
    }
  })

  it('refuses any nesting past 64 levels, wherever it sits and whatever it is made of', () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES).chain((route) => fc.record({
          route: fc.constant(route),
          place: fc.constantFrom(...route.places),
          extra: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 51, max: 20_000 })),
          shape: fc.constantFrom<Shape>('arrays', 'objects', 'both'),
        })),
        async ({ route, place, extra, shape }) => void (await refusedAsTooDeep(route, place, MAX_DEPTH - place.length + extra, shape)),
      ),
      { numRuns: NUM_RUNS },
    ))

  it('leaves 64 levels to the route, which refuses them for what they are', async () => {
    for (const route of ROUTES) {
      const before = await setup.targets.state()
      const body = expectCleanProblem(await setup.targets.send({ what: '64 levels', method: route.method, url: route.url, raw: deepBody([], MAX_DEPTH, 'arrays').text, field: '/', part: 'body' }), 400)
      expect(body.detail).not.toContain('deeper than')
      expect(await setup.targets.state()).toEqual(before)
    }
  })
})
