import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BACKENDS } from '../../../helpers/test-server.ts'
import { withBadRequestTargets, expectRefusedCleanly, type BadRequest } from '../../../helpers/problem-checks.ts'

// Strings and arrays far longer than anything their field allows, in every
// field of every route (body, query string, header), still under the 1 MiB
// body limit: each is refused (4xx, never 5xx), naming the field, and nothing
// is written. (Over real HTTP a query string this long is cut off at 16 KiB of
// headers with a 431; inject carries it whole, as a proxy with larger limits
// would.)

const NUM_RUNS = 50

/** a string longer than any field takes (the longest, a description, takes 1 000 characters, counted as code points) */
const longString = fc.tuple(fc.integer({ min: 1_001, max: 100_000 }), fc.constantFrom('x', 'é', '😀', 'a b')).map(([n, unit]) => unit.repeat(n))

interface Field {
  method: BadRequest['method']
  url: string
  /** a valid body, with `$` where the long value goes */
  template: string
  field: string
}

const BODY_STRING_FIELDS: Field[] = [
  { method: 'POST', url: '/api/auth/login', template: '{"username":$,"password":"whatever-password"}', field: '/username' },
  { method: 'POST', url: '/api/auth/login', template: '{"username":"admin","password":$}', field: '/password' },
  { method: 'POST', url: '/api/users', template: '{"username":$,"password":"long-enough-pw","role":"viewer"}', field: '/username' },
  { method: 'POST', url: '/api/users', template: '{"username":"someone","password":$,"role":"viewer"}', field: '/password' },
  { method: 'POST', url: '/api/users', template: '{"username":"someone","password":"long-enough-pw","role":$}', field: '/role' },
  { method: 'PATCH', url: '/api/users/:user', template: '{"role":$}', field: '/role' },
  { method: 'PATCH', url: '/api/users/:user', template: '{"password":$}', field: '/password' },
  ...['name', 'description', 'severity'].flatMap((name): Field[] => [
    { method: 'POST', url: '/api/incidents', template: `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"name":"x",${JSON.stringify(name)}:$}}`, field: `/properties/${name}` },
    { method: 'POST', url: '/api/incidents', template: `{"name":"x","location":{"lon":1,"lat":2},${JSON.stringify(name)}:$}`, field: `/${name}` },
    { method: 'PATCH', url: '/api/incidents/:incident', template: `{"properties":{${JSON.stringify(name)}:$}}`, field: `/properties/${name}` },
  ]),
  { method: 'POST', url: '/api/incidents', template: '{"type":"Feature","geometry":{"type":$,"coordinates":[1,2]},"properties":{"name":"x"}}', field: '/geometry/type' },
  { method: 'PATCH', url: '/api/incidents/:incident', template: '{"type":$,"properties":{"name":"y"}}', field: '/type' },
  ...['name', 'severity'].flatMap((name): Field[] => [
    { method: 'POST', url: '/api/areas', template: `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":{"name":"x",${JSON.stringify(name)}:$}}`, field: `/properties/${name}` },
    { method: 'PATCH', url: '/api/areas/:area', template: `{"properties":{${JSON.stringify(name)}:$}}`, field: `/properties/${name}` },
  ]),
  { method: 'PATCH', url: '/api/areas/:area', template: '{"geometry":{"type":$,"coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}', field: '/geometry/type' },
]

const longBodyStrings: fc.Arbitrary<BadRequest> = fc.tuple(fc.constantFrom(...BODY_STRING_FIELDS), longString).map(([f, value]) => ({
  what: `${value.length} characters in ${f.field} of ${f.method} ${f.url}`,
  method: f.method, url: f.url, raw: f.template.replace('$', JSON.stringify(value)), field: f.field, part: 'body',
}))

/** a field name nobody allows, as long as the values above */
const longUnknownKeys: fc.Arbitrary<BadRequest> = fc.tuple(fc.constantFrom(...BODY_STRING_FIELDS), fc.integer({ min: 1_000, max: 100_000 })).map(([f, n]) => {
  const key = 'k'.repeat(n)
  const at = f.field.slice(0, f.field.lastIndexOf('/'))
  return { what: `a ${n}-character field name beside ${f.field}`, method: f.method, url: f.url, raw: f.template.replace('$', `"x",${JSON.stringify(key)}:1`), field: `${at}/${key}`, part: 'body' }
})

const QUERY_FIELDS: [string, string][] = [
  ['/api/incidents', 'bbox'], ['/api/incidents', 'since'], ['/api/incidents', 'severity'], ['/api/incidents', 'closed'],
  ['/api/incidents', 'limit'], ['/api/incidents', 'cursor'], ['/api/incidents/rows', 'bbox'], ['/api/incidents/cursors', 'pages'],
  ['/api/areas', 'bbox'], ['/api/areas', 'severity'], ['/api/areas', 'cursor'],
]
const longQueryStrings: fc.Arbitrary<BadRequest> = fc.tuple(fc.constantFrom(...QUERY_FIELDS), longString, fc.boolean()).map(([[url, name], value, digits]) => {
  // all digits too: a number a double reads as Infinity
  const text = digits && ['limit', 'cursor', 'pages'].includes(name) ? '9'.repeat(value.length) : value
  return {
    what: `${text.length} characters in ${name} of ${url}`, method: 'GET', url: `${url}?${name}=${encodeURIComponent(text)}`,
    field: name === 'severity' ? '/severity/0' : `/${name}`, part: 'querystring',
  }
})

const longIfMatch: fc.Arbitrary<BadRequest> = fc.tuple(fc.constantFrom('/api/incidents/:incident', '/api/areas/:area'), longString.map((s) => s.replace(/[^\x20-\x7e]/g, 'x')))
  .map(([url, value]) => ({ what: `If-Match of ${value.length} characters`, method: 'PATCH', url, headers: { 'if-match': value }, raw: '{"properties":{"name":"y"}}', field: '/if-match', part: 'headers' }))

// ---- arrays ----

const repeat = (item: string, n: number) => `[${Array.from({ length: n }, () => item).join(',')}]`
const RING = '[[0,0],[1,0],[1,1],[0,0]]'

const hugeArrays: fc.Arbitrary<BadRequest> = fc.oneof(
  fc.tuple(fc.integer({ min: 100_001, max: 150_000 }), fc.constantFrom('Polygon', 'MultiPolygon'), fc.constantFrom('POST', 'PATCH')).map(([n, type, method]): BadRequest => ({
    what: `a ring of ${n} positions in a ${type}`, method, url: method === 'POST' ? '/api/areas' : '/api/areas/:area',
    raw: `{"type":"Feature","geometry":{"type":"${type}","coordinates":${type === 'Polygon' ? `[${repeat('[1,1]', n)}]` : `[[${repeat('[1,1]', n)}]]`}}${method === 'POST' ? ',"properties":{"name":"x"}' : ''}}`,
    field: type === 'Polygon' ? '/geometry/coordinates/0' : '/geometry/coordinates/0/0', part: 'body',
  })),
  fc.tuple(fc.integer({ min: 1_001, max: 20_000 }), fc.constantFrom('rings', 'polygons')).map(([n, what]): BadRequest => ({
    what: `${n} ${what}`, method: 'POST', url: '/api/areas',
    raw: `{"type":"Feature","geometry":${what === 'rings' ? `{"type":"Polygon","coordinates":${repeat(RING, n)}}` : `{"type":"MultiPolygon","coordinates":${repeat(`[${RING}]`, n)}}`},"properties":{"name":"x"}}`,
    field: '/geometry/coordinates', part: 'body',
  })),
  fc.tuple(fc.integer({ min: 3, max: 200_000 }), fc.constantFrom('POST', 'PATCH')).map(([n, method]): BadRequest => ({
    what: `a Point of ${n} numbers`, method, url: method === 'POST' ? '/api/incidents' : '/api/incidents/:incident',
    raw: `{"type":"Feature","geometry":{"type":"Point","coordinates":${repeat('1', n)}},"properties":{"name":"x"}}`, field: '/geometry/coordinates', part: 'body',
  })),
  fc.tuple(fc.constantFrom(...BODY_STRING_FIELDS), fc.integer({ min: 1_000, max: 200_000 })).map(([f, n]): BadRequest => ({
    what: `an array of ${n} for ${f.field} of ${f.method} ${f.url}`, method: f.method, url: f.url, raw: f.template.replace('$', repeat('1', n)), field: f.field, part: 'body',
  })),
  fc.tuple(fc.constantFrom(...BODY_STRING_FIELDS), fc.integer({ min: 1_000, max: 200_000 })).map(([f, n]): BadRequest => ({
    what: `the body as an array of ${n}`, method: f.method, url: f.url, raw: repeat('{}', n), field: '/', part: 'body',
  })),
  fc.tuple(fc.constantFrom('/api/incidents', '/api/areas', '/api/incidents/rows', '/api/incidents/cursors'), fc.integer({ min: 6, max: 70_000 })).map(([url, n]): BadRequest => ({
    what: `severity named ${n} times`, method: 'GET', url: `${url}?${Array.from({ length: n }, () => 'severity=high').join('&')}`, field: '/severity', part: 'querystring',
  })),
)

describe.each(BACKENDS)('strings and arrays too long on %s', (backend) => {
  const setup = withBadRequestTargets(backend)

  const property = (arbitrary: fc.Arbitrary<BadRequest>, numRuns = NUM_RUNS) =>
    fc.assert(fc.asyncProperty(arbitrary, async (request) => void (await expectRefusedCleanly(setup.targets, request))), { numRuns })

  it('refuses a long string in every string field of every JSON route', () => property(longBodyStrings))
  it('refuses a long unknown field name beside any field', () => property(longUnknownKeys, 20))
  it('refuses a long value in every query parameter of every list', () => property(longQueryStrings))
  it('refuses a long If-Match header', () => property(longIfMatch, 10))
  it('refuses arrays far longer than their field allows, and a body that is one', () => property(hugeArrays, 30))

  it('refuses severity named 70 000 times, more statement parameters than PostgreSQL takes, on every list', async () => {
    const many = Array.from({ length: 70_000 }, () => 'severity=high').join('&')
    for (const url of ['/api/incidents', '/api/incidents/rows', '/api/incidents/cursors', '/api/areas']) {
      await expectRefusedCleanly(setup.targets, { what: 'severity', method: 'GET', url: `${url}?${many}`, field: '/severity', part: 'querystring', detail: 'must NOT have more than 5 items' })
    }
  })

  it('names the coordinates of a MultiPolygon of 1 001 polygons, not its type', async () => {
    const body = await expectRefusedCleanly(setup.targets, {
      what: 'polygons', method: 'POST', url: '/api/areas', part: 'body', field: '/geometry/coordinates',
      raw: `{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":${repeat(`[${RING}]`, 1001)}},"properties":{"name":"x"}}`,
    })
    expect(body.detail).toMatch(/^body\/geometry\/coordinates must NOT have more than 1000 items/)
  })
})
