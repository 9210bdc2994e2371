import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BACKENDS } from '../../../helpers/test-server.ts'
import { withBadRequestTargets, expectRefusedCleanly, type BadRequest } from '../../../helpers/problem-checks.ts'

// Numbers past what their column or their meaning can hold, on every route
// that takes one: versions and ids past PostgreSQL's integer, paging past its
// bounds, coordinates past a double. Each is refused (4xx, never 5xx), naming
// the field, and nothing is written. A version of 2147483648 used to reach
// PostgreSQL on incidents and fail there as a 500.

const NUM_RUNS = 50
const INT_MAX = 2_147_483_647

/** integers past INT_MAX, as JSON number text: near the edge, past 2^53, past a double */
const hugeInteger = fc.oneof(
  fc.constantFrom('2147483648', '4294967296', '9007199254740993', '1e21', '1E300', '99999999999999999999999999999999'),
  fc.bigInt({ min: BigInt(INT_MAX) + 1n, max: 10n ** 40n }).map(String),
)
/** numbers JSON can spell and a double cannot hold: JSON.parse makes them ±Infinity */
const pastADouble = fc.constantFrom('1e400', '-1e400', '1' + '0'.repeat(400))

const versionBodies = (method: 'PATCH', url: string): fc.Arbitrary<BadRequest> =>
  fc.oneof(hugeInteger, pastADouble).map((n) => ({
    what: `version ${n}`, method, url, raw: `{"properties":{"name":"renamed","version":${n}}}`, field: '/properties/version', part: 'body',
  }))

const idRoutes: [BadRequest['method'], string][] = [
  ['GET', '/api/incidents/'], ['PATCH', '/api/incidents/'], ['DELETE', '/api/incidents/'],
  ['GET', '/api/areas/'], ['PATCH', '/api/areas/'], ['DELETE', '/api/areas/'],
  ['PATCH', '/api/users/'], ['DELETE', '/api/users/'],
]
const hugeIds: fc.Arbitrary<BadRequest> = fc.tuple(fc.constantFrom(...idRoutes), hugeInteger.filter((n) => /^\d+$/.test(n))).map(([[method, url], n]) => ({
  what: `id ${n}`, method, url: `${url}${n}`, field: '/id', part: 'params',
  ...(method === 'PATCH' && { raw: url.includes('users') ? '{"role":"operator"}' : '{"properties":{"name":"renamed"}}' }),
}))

const pagingRoutes = ['/api/incidents', '/api/incidents/rows', '/api/incidents/cursors', '/api/areas']
const hugePaging: fc.Arbitrary<BadRequest> = fc.tuple(
  fc.constantFrom(...pagingRoutes),
  fc.constantFrom('limit', 'cursor', 'pages'),
  fc.oneof(hugeInteger.filter((n) => /^\d+$/.test(n)), fc.constantFrom('1e400', '-99999999999999999999')),
).filter(([url, name]) => name !== 'pages' || url === '/api/incidents/cursors')
  .map(([url, name, n]) => ({ what: `${name}=${n}`, method: 'GET', url: `${url}?${name}=${n}`, field: `/${name}`, part: 'querystring' }))

const hugeIfMatch: fc.Arbitrary<BadRequest> = fc.tuple(fc.constantFrom('incidents/:incident', 'areas/:area'), hugeInteger.filter((n) => /^\d+$/.test(n)))
  .map(([target, n]) => ({
    what: `If-Match "${n}"`, method: 'PATCH', url: `/api/${target}`, headers: { 'if-match': `"${n}"` }, raw: '{"properties":{"name":"renamed"}}',
    field: '/if-match', part: 'headers',
  }))

const hugeCoordinates: fc.Arbitrary<BadRequest> = fc.tuple(fc.oneof(pastADouble, fc.constantFrom('1e308', '-1.7976931348623157e308')), fc.integer({ min: 0, max: 1 }), fc.constantFrom('feature', 'flat', 'patch'))
  .map(([n, i, form]) => {
    const position = i === 0 ? `[${n},0]` : `[0,${n}]`
    if (form === 'flat') {
      const field = i === 0 ? 'lon' : 'lat'
      return { what: `flat ${field} ${n}`, method: 'POST', url: '/api/incidents', raw: `{"name":"x","location":{"lon":${i === 0 ? n : 0},"lat":${i === 1 ? n : 0}}}`, field: `/location/${field}`, part: 'body' }
    }
    return {
      what: `${form} coordinate ${i} ${n}`, method: form === 'patch' ? 'PATCH' : 'POST', url: form === 'patch' ? '/api/incidents/:incident' : '/api/incidents',
      raw: `{"type":"Feature","geometry":{"type":"Point","coordinates":${position}},"properties":{"name":"x"}}`, field: `/geometry/coordinates/${i}`, part: 'body',
    }
  })

describe.each(BACKENDS)('numbers too large on %s', (backend) => {
  const setup = withBadRequestTargets(backend)

  const property = (arbitrary: fc.Arbitrary<BadRequest>) =>
    fc.assert(fc.asyncProperty(arbitrary, async (request) => void (await expectRefusedCleanly(setup.targets, request))), { numRuns: NUM_RUNS })

  it('refuses version 2147483648 on incidents as on areas: 400 naming the field and the value', async () => {
    for (const url of ['/api/incidents/:incident', '/api/areas/:area']) {
      const body = await expectRefusedCleanly(setup.targets, {
        what: 'version', method: 'PATCH', url, raw: '{"properties":{"version":2147483648}}', field: '/properties/version', part: 'body',
      })
      expect(body.detail).toBe('body/properties/version must be <= 2147483647 (got 2147483648)')
    }
  })

  it('refuses a version past the integer range, or past a double, on every PATCH', () =>
    property(fc.oneof(versionBodies('PATCH', '/api/incidents/:incident'), versionBodies('PATCH', '/api/areas/:area'))))

  it('refuses an id past the integer range on every route that takes one', () => property(hugeIds))

  it('refuses limit, cursor and pages past their bounds on every list', () => property(hugePaging))

  it('refuses an If-Match version past the integer range', () => property(hugeIfMatch))

  it('refuses coordinates past a double, or at its very edge', () => property(hugeCoordinates))
})
