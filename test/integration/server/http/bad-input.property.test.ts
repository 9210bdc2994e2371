import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SEVERITIES } from '../../../../contracts/severity.ts'
import { MAX_SEARCH_LENGTH } from '../../../../contracts/incident-search.ts'
import { BACKENDS, bearer, point, square, startTestServer, type TestServer } from '../../../helpers/test-server.ts'
import { expectCleanProblem, STACKISH, type Problem } from '../../../helpers/problem-checks.ts'

// Bad input, generated, sent through the real routes to the real database as
// an operator. Whatever is wrong with a request, the answer is a 4xx problem
// (never a 5xx), names what was wrong without leaking a stack, and writes
// nothing: no incident, no area, no notification, no change to the target of
// a PATCH. Classes of input too big to be meant have files of their own:
// bad-input-depth (nesting), bad-input-numbers (past their range) and
// bad-input-lengths (strings and arrays).

const NUM_RUNS = 60
const BODY_LIMIT = 1024 * 1024

// ---------------------------------------------------------------------------
// What a generated bad request is, and what its answer must say
// ---------------------------------------------------------------------------

type Method = 'GET' | 'POST' | 'PATCH'

interface BadRequest {
  /** what is wrong, for the counterexample report */
  what: string
  method: Method
  /** `:incident` and `:area` are replaced by the ids of the PATCH targets */
  url: string
  /** a JSON body, sent as application/json */
  body?: unknown
  /** a body sent as is (with content-type application/json) */
  raw?: string
  headers?: Record<string, string>
  status: number
  /** JSON pointer that errors[0].field must be, for a 400 naming a field */
  field?: string
  /** request part that errors[0].in must be */
  part?: 'body' | 'querystring' | 'headers' | 'params'
  /** the offending value, when it is a scalar the detail must echo */
  scalar?: { value: unknown }
  /** text the detail must contain (e.g. PostGIS's reason) */
  detail?: string
}

const isScalar = (v: unknown) => v === null || typeof v !== 'object'

/** JSON pointer segment escaping (RFC 6901) */
const seg = (key: string | number) => String(key).replace(/~/g, '~0').replace(/\//g, '~1')

const clone = <T>(v: T): T => structuredClone(v)

/** how the server shows a value in `detail`: JSON, shortened past 80 characters (errors[].value has it whole) */
function echoed(value: unknown): string {
  const s = JSON.stringify(value)
  return s.length > 80 ? s.slice(0, 77) : s
}

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/** printable text that cannot be mistaken for a stack frame when echoed back */
const text = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.string(constraints).filter((s) => !STACKISH.test(s))

const lon = fc.double({ min: -180, max: 180, noNaN: true })
const lat = fc.double({ min: -90, max: 90, noNaN: true })
/** a position at whole hundredths, so rings built from it stay well-conditioned */
const hundredths = (min: number, max: number) => fc.integer({ min: min * 100, max: max * 100 }).map((n) => n / 100)

const lonOutOfRange = fc.oneof(
  fc.double({ min: 180, max: 1e300, minExcluded: true, noNaN: true }),
  fc.double({ min: -1e300, max: -180, maxExcluded: true, noNaN: true }),
  fc.integer({ min: 181, max: 100_000 }),
  fc.constantFrom(180.000001, -180.000001, 360, -360),
)
const latOutOfRange = fc.oneof(
  fc.double({ min: 90, max: 1e300, minExcluded: true, noNaN: true }),
  fc.double({ min: -1e300, max: -90, maxExcluded: true, noNaN: true }),
  fc.integer({ min: 91, max: 100_000 }),
  fc.constantFrom(90.000001, -90.000001, 180, -180),
)
/** strings a careless client sends for a number */
const nanishString = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '', ' ', '12abc', '0x1F', 'null', 'undefined', '-', '45.5', '-73.9'),
  text({ maxLength: 12 }),
)
/** anything but a number */
const notANumber = fc.oneof(
  nanishString,
  fc.constant(null),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.tuple(fc.integer(), fc.integer()),
  fc.record({ lon: fc.integer(), lat: fc.integer() }),
)
/** anything but a string */
const notAString = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({ text: 'x' }), fc.array(text({ maxLength: 5 }), { maxLength: 3 }))
/** anything but a boolean */
const notABoolean = fc.oneof(fc.constantFrom('true', 'false', 'yes', '1', '0', '', 'TRUE'), fc.integer({ min: 0, max: 1 }), fc.constant(null), fc.constant([]), fc.constant({}))
const unknownSeverity = fc.oneof(
  fc.constantFrom('critical', 'severe', 'URGENT', 'High', 'medium ', ' low', 'information', 'none', '', '0'),
  text({ maxLength: 15 }).filter((s) => !(SEVERITIES as readonly string[]).includes(s)),
  fc.integer({ min: -1, max: 5 }),
  fc.constant(null),
  fc.boolean(),
  fc.constant(['high']),
)
/** a field name no body of ours allows anywhere */
const KNOWN_KEYS = new Set(['type', 'geometry', 'properties', 'coordinates', 'name', 'description', 'severity', 'closed', 'version', 'location', 'lon', 'lat', 'id'])
const unknownKey = fc
  .oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/), fc.constantFrom('crs', 'bbox', 'reporter', 'owner', 'created', 'url', 'kind', 'Name', 'alt'))
  .filter((k) => !KNOWN_KEYS.has(k) && k !== '__proto__')
const anyValue = fc.oneof(text({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant({ a: 1 }), fc.constant([1, 2]))

const tooLongName = text({ minLength: 151, maxLength: 320 }).filter((s) => [...s].length > 150)
const tooLongDescription = text({ minLength: 1001, maxLength: 1300 }).filter((s) => [...s].length > 1000)

/** a closed ring inside the given box, at least 4 positions: a square around a centre */
const squareRing = (cx: number, cy: number, half: number) => square(cx, cy, half).coordinates[0]!
const validSquare = fc
  .record({ cx: hundredths(-170, 170), cy: hundredths(-80, 80), half: hundredths(0.01, 5) })
  .map(({ cx, cy, half }) => square(cx, cy, half))

/** a bow-tie: a quadrilateral whose edges cross in the middle */
const bowTie = fc
  .record({ x0: hundredths(-170, 160), y0: hundredths(-80, 70), w: hundredths(0.1, 9), h: hundredths(0.1, 9) })
  .map(({ x0, y0, w, h }) => {
    const x1 = Math.round((x0 + w) * 100) / 100
    const y1 = Math.round((y0 + h) * 100) / 100
    return [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
  })

// a bad member of a body, at `prefix` (a JSON pointer) with its name
interface Mutation {
  what: string
  /** path of keys from the body root to the member being replaced */
  path: (string | number)[]
  value: unknown
  /** JSON pointer the server must name; defaults to the path */
  field?: string
  detail?: string
  /** remove the member instead of replacing it */
  remove?: boolean
}

function applyMutation<T>(base: T, m: Mutation): T {
  const body = clone(base) as Record<string | number, unknown>
  let target = body
  for (const key of m.path.slice(0, -1)) {
    if (target[key] === undefined || target[key] === null || typeof target[key] !== 'object') target[key] = {}
    target = target[key] as Record<string | number, unknown>
  }
  const last = m.path[m.path.length - 1]!
  if (m.remove) delete target[last]
  else target[last] = m.value
  return body as T
}

const pointerOf = (path: (string | number)[]) => path.map((k) => `/${seg(k)}`).join('')

/** a value as the server sees it after the JSON round trip (-0 becomes 0) */
const asSent = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

function mutatedRequest(method: Method, url: string, base: unknown, m: Mutation): BadRequest {
  const field = m.field ?? pointerOf(m.path)
  const request: BadRequest = { what: m.what, method, url, body: applyMutation(base, m), status: 400, field, part: 'body' }
  if (!m.remove && m.detail === undefined && isScalar(m.value)) request.scalar = { value: asSent(m.value) }
  if (m.detail !== undefined) request.detail = m.detail
  return request
}

// ---- mutations of a Point geometry (at `at`, e.g. ['geometry']) ----

const pointGeometryMutations = (at: (string | number)[]): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ i: fc.constant(0), value: fc.oneof(lonOutOfRange, notANumber) }).map(({ i, value }) => ({ what: 'bad longitude', path: [...at, 'coordinates', i], value })),
    fc.record({ i: fc.constant(1), value: fc.oneof(latOutOfRange, notANumber) }).map(({ i, value }) => ({ what: 'bad latitude', path: [...at, 'coordinates', i], value })),
    fc.oneof(fc.constant([]), lon.map((x) => [x]), fc.tuple(lon, lat, fc.double({ noNaN: true, noDefaultInfinity: true })), nanishString, fc.constant(null), fc.record({ lon, lat }))
      .map((value) => ({ what: 'coordinates of the wrong shape', path: [...at, 'coordinates'], value })),
    fc.oneof(
      validSquare.map((g) => ({ what: 'a Polygon for an incident', path: at, value: g, field: pointerOf([...at, 'type']) })),
      validSquare.map((g) => ({ what: 'a MultiPolygon for an incident', path: at, value: { type: 'MultiPolygon', coordinates: [g.coordinates] }, field: pointerOf([...at, 'type']) })),
    ).map((m) => m as Mutation),
    fc.oneof(fc.constantFrom('Polygon', 'LineString', 'MultiPoint', 'GeometryCollection', 'Feature', 'point', 'POINT', ''), text({ maxLength: 12 }).filter((t) => t !== 'Point'))
      .map((value) => ({ what: 'unknown geometry type', path: [...at, 'type'], value })),
    fc.oneof(fc.constant(null), text({ maxLength: 10 }), fc.integer(), fc.constant([1, 2]))
      .map((value) => ({ what: 'geometry is not an object', path: at, value })),
    fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }) => ({ what: 'unknown geometry member', path: [...at, key], value })),
  )

// ---- mutations of an area geometry ----

type AreaShape = 'Polygon' | 'MultiPolygon'
/** path of the coordinates of ring r of the (first) polygon */
const ringPath = (shape: AreaShape, r: number) => (shape === 'Polygon' ? ['geometry', 'coordinates', r] : ['geometry', 'coordinates', 0, r])
const areaGeometry = (shape: AreaShape, rings: number[][][]) =>
  shape === 'Polygon' ? { type: 'Polygon', coordinates: rings } : { type: 'MultiPolygon', coordinates: [rings] }

const areaGeometryMutations = (shape: AreaShape): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ k: fc.integer({ min: 0, max: 4 }), i: fc.integer({ min: 0, max: 1 }), lonBad: lonOutOfRange, latBad: latOutOfRange, nan: notANumber, useNan: fc.boolean() })
      .map(({ k, i, lonBad, latBad, nan, useNan }) => ({
        what: 'bad position in a ring',
        path: [...ringPath(shape, 0), k, i],
        value: useNan ? nan : i === 0 ? lonBad : latBad,
      })),
    fc.oneof(fc.constantFrom('Point', 'LineString', 'MultiPoint', 'GeometryCollection', 'Feature', 'polygon', 'POLYGON', 'Circle', ''), text({ maxLength: 12 }).filter((t) => t !== 'Polygon' && t !== 'MultiPolygon'))
      .map((value) => ({ what: 'wrong geometry type', path: ['geometry', 'type'], value })),
    fc.record({ x: lon, y: lat }).map(({ x, y }) => ({ what: 'a Point for an area', path: ['geometry'], value: point(x, y), field: '/geometry/type' })),
    fc.array(fc.tuple(hundredths(-180, 180), hundredths(-90, 90)), { minLength: 4, maxLength: 8 })
      .filter((ring) => ring[0]![0] !== ring[ring.length - 1]![0] || ring[0]![1] !== ring[ring.length - 1]![1])
      .map((ring) => ({ what: 'an unclosed ring', path: ringPath(shape, 0), value: ring, detail: 'is not closed' })),
    fc.array(fc.tuple(hundredths(-180, 180), hundredths(-90, 90)), { minLength: 0, maxLength: 3 })
      .map((ring) => ({ what: 'a ring with fewer than 4 positions', path: ringPath(shape, 0), value: ring })),
    fc.constant<Mutation>({ what: 'no rings', path: shape === 'Polygon' ? ['geometry', 'coordinates'] : ['geometry', 'coordinates', 0], value: [] }),
    bowTie.map((ring) => ({ what: 'a bow-tie', path: ['geometry'], value: areaGeometry(shape, [ring]), detail: 'Self-intersection' })),
    fc.record({ cx: hundredths(-160, 160), cy: hundredths(-70, 70), half: hundredths(0.1, 5) }).map(({ cx, cy, half }) => ({
      what: 'a MultiPolygon whose parts overlap',
      path: ['geometry'],
      value: { type: 'MultiPolygon', coordinates: [[squareRing(cx, cy, half)], [squareRing(cx + half, cy + half, half)]] },
      detail: 'Self-intersection',
    })),
    fc.record({ cx: hundredths(-150, 150), cy: hundredths(-60, 60), half: hundredths(0.1, 5) }).map(({ cx, cy, half }) => ({
      what: 'a hole outside its shell',
      path: ['geometry'],
      value: areaGeometry(shape, [squareRing(cx, cy, half), squareRing(cx + 4 * half, cy, half / 2)]),
      detail: 'Hole lies outside shell',
    })),
    fc.oneof(fc.constant(null), text({ maxLength: 10 }), fc.integer(), fc.constant([]))
      .map((value) => ({ what: 'geometry is not an object', path: ['geometry'], value })),
    fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }) => ({ what: 'unknown geometry member', path: ['geometry', key], value })),
  )

// ---- mutations of feature properties (at `at`: ['properties'] or [] for the flat form) ----

/** `misplaced`: names that are fields elsewhere in our bodies but not allowed here */
function propertyMutations(at: (string | number)[], kind: 'incident' | 'area', patch: boolean, misplaced: string[]): fc.Arbitrary<Mutation> {
  const allowed = kind === 'incident' ? ['name', 'description', 'severity', 'closed'] : ['name', 'severity']
  if (patch) allowed.push('version')
  const options: fc.Arbitrary<Mutation>[] = [
    unknownSeverity.map((value) => ({ what: 'unknown severity', path: [...at, 'severity'], value })),
    tooLongName.map((value) => ({ what: 'name over 150 characters', path: [...at, 'name'], value })),
    fc.constant<Mutation>({ what: 'empty name', path: [...at, 'name'], value: '' }),
    notAString.map((value) => ({ what: 'name is not a string', path: [...at, 'name'], value })),
    fc.oneof(unknownKey, fc.constantFrom(...misplaced))
      .chain((key) => anyValue.map((value) => ({ what: `unknown field ${key}`, path: [...at, key], value }))),
  ]
  if (kind === 'incident') {
    options.push(
      tooLongDescription.map((value) => ({ what: 'description over 1000 characters', path: [...at, 'description'], value })),
      notAString.map((value) => ({ what: 'description is not a string', path: [...at, 'description'], value })),
      notABoolean.map((value) => ({ what: 'closed is not a boolean', path: [...at, 'closed'], value })),
    )
  }
  if (!patch) options.push(fc.constant<Mutation>({ what: 'name missing', path: [...at, 'name'], value: undefined, remove: true }))
  if (patch) {
    options.push(
      fc.oneof(fc.constantFrom('1', '"1"', 'W/"1"', '', 'latest'), fc.constant(0), fc.integer({ min: -1000, max: 0 }), fc.constantFrom(1.5, 0.1, -1.5), fc.constant(null), fc.boolean())
        .map((value) => ({ what: 'bad version', path: [...at, 'version'], value })),
    )
  }
  if (at.length) {
    options.push(
      fc.oneof(fc.constant(null), text({ maxLength: 10 }), fc.integer(), fc.constant([{ name: 'x' }]))
        .map((value) => ({ what: 'properties is not an object', path: at, value })),
    )
  }
  return fc.oneof(...options)
}

// ---- whole-body problems ----

/** JSON text just over the body limit, otherwise a well-formed request */
function oversized(body: object, extra: number): string {
  const text = JSON.stringify(body)
  const padding = BODY_LIMIT - text.length + extra
  return `${text.slice(0, -1)},"padding":"${'x'.repeat(Math.max(padding, 1))}"}`
}

const notAnObjectBody = fc.oneof(
  fc.constantFrom('[]', '[{"type":"Feature"}]', '"Feature"', '42', 'true', 'null'),
  text({ maxLength: 10 }).map((s) => JSON.stringify(s)),
)
const malformedJson = fc.constantFrom('{', '{"type":', '{"type":"Feature",}', "{'name':'x'}", '{"name":"x"}}', 'NaN', '{"coordinates":[1,,2]}', '')

function wholeBodyProblems(method: Method, url: string, valid: object): fc.Arbitrary<BadRequest> {
  return fc.oneof(
    fc.integer({ min: 1, max: 4096 }).map((extra): BadRequest => ({ what: 'body over the size limit', method, url, raw: oversized(valid, extra), status: 413 })),
    notAnObjectBody.map((raw): BadRequest => ({
      what: 'body is not a JSON object', method, url, raw, status: 400, field: '/', part: 'body', scalar: raw.startsWith('[') ? undefined : { value: JSON.parse(raw) },
    })),
    malformedJson.map((raw): BadRequest => ({ what: 'malformed JSON', method, url, raw, status: 400 })),
  )
}

// ---------------------------------------------------------------------------
// Request generators, one per endpoint
// ---------------------------------------------------------------------------

const validIncidentFeature = fc.record({
  type: fc.constant('Feature'),
  geometry: fc.record({ x: lon, y: lat }).map(({ x, y }) => point(x, y)),
  properties: fc.record(
    {
      name: text({ minLength: 1, maxLength: 40 }),
      description: text({ maxLength: 60 }),
      severity: fc.constantFrom(...SEVERITIES),
      closed: fc.boolean(),
    },
    { requiredKeys: ['name'] },
  ),
})
const validIncidentFlat = fc.record(
  {
    name: text({ minLength: 1, maxLength: 40 }),
    description: text({ maxLength: 60 }),
    severity: fc.constantFrom(...SEVERITIES),
    closed: fc.boolean(),
    location: fc.record({ lon, lat }),
  },
  { requiredKeys: ['name', 'location'] },
)

const badIncidentCreate: fc.Arbitrary<BadRequest> = fc.oneof(
  { arbitrary: fc.tuple(validIncidentFeature, pointGeometryMutations(['geometry'])).map(([base, m]) => mutatedRequest('POST', '/api/incidents', base, m)), weight: 4 },
  { arbitrary: fc.tuple(validIncidentFeature, propertyMutations(['properties'], 'incident', false, ['version', 'location', 'geometry', 'type', 'lon', 'id'])).map(([base, m]) => mutatedRequest('POST', '/api/incidents', base, m)), weight: 4 },
  {
    arbitrary: fc.tuple(validIncidentFeature, fc.oneof(
      fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }): Mutation => ({ what: `unknown top-level field ${key}`, path: [key], value })),
      fc.constant<Mutation>({ what: 'properties missing', path: ['properties'], value: undefined, remove: true }),
      fc.constant<Mutation>({ what: 'geometry missing', path: ['geometry'], value: undefined, remove: true }),
    )).map(([base, m]) => mutatedRequest('POST', '/api/incidents', base, m)),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(validIncidentFlat, fc.oneof(
      fc.oneof(lonOutOfRange, notANumber).map((value): Mutation => ({ what: 'flat form: bad lon', path: ['location', 'lon'], value })),
      fc.oneof(latOutOfRange, notANumber).map((value): Mutation => ({ what: 'flat form: bad lat', path: ['location', 'lat'], value })),
      fc.oneof(fc.constant(null), fc.tuple(lon, lat), text({ maxLength: 20 }), fc.integer()).map((value): Mutation => ({ what: 'flat form: location is not an object', path: ['location'], value })),
      fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }): Mutation => ({ what: 'flat form: unknown location member', path: ['location', key], value })),
      fc.constant<Mutation>({ what: 'flat form: location missing', path: ['location'], value: undefined, remove: true }),
      propertyMutations([], 'incident', false, ['version', 'geometry', 'properties', 'lat', 'id']),
    )).map(([base, m]) => mutatedRequest('POST', '/api/incidents', base, m)),
    weight: 4,
  },
  { arbitrary: validIncidentFeature.chain((valid) => wholeBodyProblems('POST', '/api/incidents', valid)), weight: 1 },
)

const validIncidentPatch = fc.record(
  {
    geometry: fc.record({ x: lon, y: lat }).map(({ x, y }) => point(x, y)),
    properties: fc.record(
      { name: text({ minLength: 1, maxLength: 40 }), description: text({ maxLength: 60 }), severity: fc.constantFrom(...SEVERITIES), closed: fc.boolean() },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
)

const validIncidentPatchWithGeometry = fc.tuple(validIncidentPatch, lon, lat).map(([patch, x, y]) => ({ ...patch, geometry: point(x, y) }))

const badIncidentPatch: fc.Arbitrary<BadRequest> = fc.oneof(
  { arbitrary: fc.tuple(validIncidentPatchWithGeometry, pointGeometryMutations(['geometry'])).map(([base, m]) => mutatedRequest('PATCH', '/api/incidents/:incident', base, m)), weight: 4 },
  { arbitrary: fc.tuple(validIncidentPatch, propertyMutations(['properties'], 'incident', true, ['location', 'geometry', 'type', 'id', 'url'])).map(([base, m]) => mutatedRequest('PATCH', '/api/incidents/:incident', base, m)), weight: 4 },
  {
    arbitrary: fc.tuple(validIncidentPatch, fc.oneof(
      fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }): Mutation => ({ what: `unknown top-level field ${key}`, path: [key], value })),
      fc.oneof(fc.constantFrom('FeatureCollection', 'feature', 'Point', ''), fc.integer(), fc.constant(null)).map((value): Mutation => ({ what: 'type is not "Feature"', path: ['type'], value })),
    )).map(([base, m]) => mutatedRequest('PATCH', '/api/incidents/:incident', base, m)),
    weight: 2,
  },
  { arbitrary: validIncidentPatch.chain((valid) => wholeBodyProblems('PATCH', '/api/incidents/:incident', valid)), weight: 1 },
)

const areaShape = fc.constantFrom<AreaShape>('Polygon', 'MultiPolygon')
const validAreaCreate = fc.record({
  shape: areaShape,
  square: validSquare,
  properties: fc.record({ name: text({ minLength: 1, maxLength: 40 }), severity: fc.constantFrom(...SEVERITIES) }, { requiredKeys: ['name'] }),
})

const badAreaCreate: fc.Arbitrary<BadRequest> = fc.oneof(
  {
    arbitrary: validAreaCreate.chain(({ shape, square: sq, properties }) => {
      const base = { type: 'Feature', geometry: areaGeometry(shape, sq.coordinates), properties }
      return fc.oneof(
        { arbitrary: areaGeometryMutations(shape), weight: 3 },
        { arbitrary: propertyMutations(['properties'], 'area', false, ['description', 'closed', 'version', 'location', 'geometry', 'owner']), weight: 2 },
        {
          arbitrary: fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }): Mutation => ({ what: `unknown top-level field ${key}`, path: [key], value })),
          weight: 1,
        },
      ).map((m) => mutatedRequest('POST', '/api/areas', base, m))
    }),
    weight: 8,
  },
  {
    arbitrary: validAreaCreate.chain(({ shape, square: sq, properties }) =>
      wholeBodyProblems('POST', '/api/areas', { type: 'Feature', geometry: areaGeometry(shape, sq.coordinates), properties })),
    weight: 1,
  },
)

const validAreaPatch = fc.record({
  shape: areaShape,
  square: validSquare,
  properties: fc.record({ name: text({ minLength: 1, maxLength: 40 }), severity: fc.constantFrom(...SEVERITIES) }, { requiredKeys: [] }),
  withGeometry: fc.boolean(),
})

const badAreaPatch: fc.Arbitrary<BadRequest> = fc.oneof(
  {
    arbitrary: validAreaPatch.chain(({ shape, square: sq, properties, withGeometry }) => {
      const base = { properties, ...(withGeometry && { geometry: areaGeometry(shape, sq.coordinates) }) }
      const withGeom = { properties, geometry: areaGeometry(shape, sq.coordinates) }
      return fc.oneof(
        { arbitrary: areaGeometryMutations(shape).map((m) => mutatedRequest('PATCH', '/api/areas/:area', withGeom, m)), weight: 3 },
        { arbitrary: propertyMutations(['properties'], 'area', true, ['description', 'closed', 'location', 'geometry', 'owner']).map((m) => mutatedRequest('PATCH', '/api/areas/:area', base, m)), weight: 2 },
        {
          arbitrary: fc.oneof(
            fc.record({ key: unknownKey, value: anyValue }).map(({ key, value }): Mutation => ({ what: `unknown top-level field ${key}`, path: [key], value })),
            fc.oneof(fc.constantFrom('FeatureCollection', 'feature', 'Polygon', ''), fc.integer(), fc.constant(null)).map((value): Mutation => ({ what: 'type is not "Feature"', path: ['type'], value })),
          ).map((m) => mutatedRequest('PATCH', '/api/areas/:area', base, m)),
          weight: 1,
        },
      )
    }),
    weight: 8,
  },
  {
    arbitrary: validAreaPatch.chain(({ shape, square: sq, properties }) =>
      wholeBodyProblems('PATCH', '/api/areas/:area', { properties, geometry: areaGeometry(shape, sq.coordinates) })),
    weight: 1,
  },
)

// ---- GET /api/incidents query strings ----

type Param = [string, string]
const VALID_PARAMS: Record<string, fc.Arbitrary<Param[]>> = {
  bbox: fc.constant([['bbox', '-10,-10,10,10']]),
  severity: fc.subarray([...SEVERITIES], { minLength: 1, maxLength: 2 }).map((s) => s.map((v): Param => ['severity', v])),
  limit: fc.integer({ min: 1, max: 10_000 }).map((n) => [['limit', String(n)]]),
  cursor: fc.integer({ min: 0, max: 1_000_000 }).map((n) => [['cursor', String(n)]]),
  closed: fc.boolean().map((b) => [['closed', String(b)]]),
  since: fc.constant([['since', '2020-01-01T00:00:00Z']]),
  q: fc.constantFrom('fire', 'quay 4', '%_', ' ').map((v) => [['q', v]]),
}
/** some valid parameters other than `except` */
function validParams(except: string): fc.Arbitrary<Param[]> {
  const keys = Object.keys(VALID_PARAMS).filter((k) => k !== except)
  return fc.subarray(keys).chain((chosen) => (chosen.length ? fc.tuple(...chosen.map((k) => VALID_PARAMS[k]!)).map((lists) => lists.flat()) : fc.constant([])))
}

// bbox text without `"` and `\`, so JSON quoting of it is just the quotes
const bboxChunk = fc.oneof(
  hundredths(-180, 180).map(String),
  fc.constantFrom('', ' ', 'NaN', 'Infinity', 'abc', '1e999', '12abc', '--1', 'null'),
  fc.stringMatching(/^[a-zA-Z _.:;+*#!-]{1,6}$/),
)
const numeric = (s: string) => s.trim() !== '' && Number.isFinite(Number(s))

interface QueryProblem {
  what: string
  params: Param[]
  field: string
  value: unknown
}

const badQuery: fc.Arbitrary<QueryProblem> = fc.oneof(
  // bbox
  fc.oneof(
    fc.array(hundredths(-90, 90).map(String), { minLength: 0, maxLength: 7 }).filter((a) => a.length !== 4).map((a) => ({ what: 'bbox without four numbers', bbox: a.join(',') })),
    fc.tuple(bboxChunk, bboxChunk, bboxChunk, bboxChunk).filter((parts) => parts.some((p) => !numeric(p))).map((parts) => ({ what: 'bbox with a non-number', bbox: parts.join(',') })),
    fc.tuple(lonOutOfRange, hundredths(-90, 90)).map(([x, y]) => ({ what: 'bbox longitude out of range', bbox: `${x},${y},${Math.abs(x)},${Math.abs(y) + 1}` })),
    fc.tuple(hundredths(-180, 179), latOutOfRange).map(([x, y]) => ({ what: 'bbox latitude out of range', bbox: `${x},${-Math.abs(y)},${x + 1},${Math.abs(y)}` })),
    fc.tuple(hundredths(-180, 180), hundredths(-180, 180), hundredths(-90, 90), hundredths(-90, 90))
      .filter(([a, b, c, d]) => a !== b && c !== d)
      .map(([a, b, c, d]) => ({ what: 'bbox with min after max', bbox: `${Math.max(a, b)},${Math.max(c, d)},${Math.min(a, b)},${Math.min(c, d)}` })),
  ).chain(({ what, bbox }) => validParams('bbox').map((rest) => ({ what, params: [...rest, ['bbox', bbox] as Param], field: '/bbox', value: bbox }))),
  // severity: some good ones first, then a bad one
  fc.tuple(
    fc.subarray([...SEVERITIES], { maxLength: 2 }),
    fc.oneof(fc.constantFrom('critical', 'URGENT', 'High', '', ' high', 'hi', '0'), text({ maxLength: 10 }).filter((s) => !(SEVERITIES as readonly string[]).includes(s))),
    validParams('severity'),
  ).map(([good, bad, rest]) => ({
    what: 'unknown severity',
    params: [...rest, ...good.map((g): Param => ['severity', g]), ['severity', bad] as Param],
    field: `/severity/${good.length}`,
    value: bad,
  })),
  // limit
  fc.tuple(
    fc.oneof(
      fc.oneof(fc.integer({ min: -1_000_000, max: 0 }), fc.integer({ min: 10_001, max: 1_000_000_000 })).map((n) => ({ raw: String(n), shown: n as unknown })),
      fc.integer({ min: 0, max: 100 }).map((n) => ({ raw: `${n}.5`, shown: `${n}.5` as unknown })),
      text({ maxLength: 8 }).filter((s) => Number.isNaN(Number(s))).map((s) => ({ raw: s, shown: s as unknown })),
    ),
    validParams('limit'),
  ).map(([{ raw, shown }, rest]) => ({ what: 'bad limit', params: [...rest, ['limit', raw] as Param], field: '/limit', value: shown })),
  // cursor
  fc.tuple(
    fc.oneof(
      fc.integer({ min: -1_000_000, max: -1 }).map((n) => ({ raw: String(n), shown: n as unknown })),
      fc.integer({ min: 0, max: 100 }).map((n) => ({ raw: `${n}.25`, shown: `${n}.25` as unknown })),
      text({ maxLength: 8 }).filter((s) => Number.isNaN(Number(s))).map((s) => ({ raw: s, shown: s as unknown })),
    ),
    validParams('cursor'),
  ).map(([{ raw, shown }, rest]) => ({ what: 'bad cursor', params: [...rest, ['cursor', raw] as Param], field: '/cursor', value: shown })),
  // closed
  fc.tuple(fc.oneof(fc.constantFrom('yes', 'no', 'maybe', 'TRUE', 'False', '', 'open'), text({ maxLength: 8 }).filter((s) => s !== 'true' && s !== 'false')), validParams('closed'))
    .map(([bad, rest]) => ({ what: 'closed is not a boolean', params: [...rest, ['closed', bad] as Param], field: '/closed', value: bad })),
  // since
  fc.tuple(
    fc.oneof(
      fc.constantFrom('yesterday', 'now', '2020-13-01T00:00:00Z', '2021-02-30T00:00:00Z', '2020-01-01', '1577836800', '2020-01-01T25:00:00Z', '01/02/2020', ''),
      text({ maxLength: 12 }).filter((s) => !/^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d/.test(s)),
    ),
    validParams('since'),
  ).map(([bad, rest]) => ({ what: 'since is not a date-time', params: [...rest, ['since', bad] as Param], field: '/since', value: bad })),
  // q: the text search, 1 to MAX_SEARCH_LENGTH characters
  fc.tuple(fc.oneof(fc.constant(''), fc.string({ minLength: MAX_SEARCH_LENGTH + 1, maxLength: MAX_SEARCH_LENGTH + 20 })), validParams('q'))
    .map(([bad, rest]) => ({ what: 'q is empty or too long', params: [...rest, ['q', bad] as Param], field: '/q', value: bad })),
  // unknown parameters
  fc.tuple(
    fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/), fc.constantFrom('lon', 'lat', 'page', 'offset', 'sort', 'q', 'type')).filter((k) => !(k in VALID_PARAMS) && k !== 'session_key'),
    text({ maxLength: 10 }),
    validParams(''),
  ).map(([key, value, rest]) => ({ what: `unknown parameter ${key}`, params: [...rest, [key, value] as Param], field: `/${key}`, value })),
)

// ---------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------

function expectNamesTheField(body: Problem, request: Pick<BadRequest, 'field' | 'part' | 'scalar' | 'detail'>) {
  if (request.field !== undefined) {
    expect(body.errors, `errors of ${JSON.stringify(body)}`).toBeDefined()
    expect(body.errors![0]!.field).toBe(request.field)
    if (request.part) expect(body.errors![0]!.in).toBe(request.part)
  }
  if (request.scalar) {
    expect(typeof body.detail === 'string' && body.detail).toContain(echoed(request.scalar.value))
    expect(body.errors![0]!.value).toEqual(request.scalar.value)
  }
  if (request.detail !== undefined) expect(body.detail).toContain(request.detail)
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

describe.each(BACKENDS)('bad input on %s', (backend) => {
  let server: TestServer
  let auth: Record<string, string>
  let incidentId: number
  let areaId: number
  let initialArea: unknown

  beforeAll(async () => {
    server = await startTestServer(backend)
    const operator = await server.user('operator')
    auth = bearer(operator.key)
    incidentId = (await server.app.incidents.create({ name: 'target', description: 'the PATCH target', severity: 'high', geometry: point(2.35, 48.85) }, operator.id)).properties.id
    const area = await server.app.areas.create({ name: 'target area', severity: 'low', geometry: square(2.35, 48.85, 0.5) }, operator.id)
    areaId = area.properties.id
    initialArea = area
  })
  afterAll(() => server?.close())

  async function count(table: 'incidents' | 'areas_of_interest'): Promise<number> {
    const row = await server.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** everything a bad request must leave untouched */
  async function snapshot() {
    return {
      incidents: await count('incidents'),
      areas: await count('areas_of_interest'),
      // what the saves told the live map: the outbox keeps a row only until it is published
      notifications: (await server.published()).length,
      incident: await server.app.incidents.get(incidentId),
      area: await server.app.areas.get(areaId),
    }
  }

  function send(request: BadRequest) {
    const url = request.url.replace(':incident', String(incidentId)).replace(':area', String(areaId))
    const headers: Record<string, string> = { ...auth, ...request.headers }
    if (request.raw !== undefined) {
      return server.app.inject({ method: request.method, url, headers: { ...headers, 'content-type': 'application/json' }, payload: request.raw })
    }
    if (request.body !== undefined) {
      return server.app.inject({ method: request.method, url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(request.body) })
    }
    return server.app.inject({ method: request.method, url, headers })
  }

  /** sends it, checks the answer and that nothing was written */
  async function refusedCleanly(request: BadRequest): Promise<Problem> {
    const before = await snapshot()
    const response = await send(request)
    const body = expectCleanProblem(response, request.status)
    expectNamesTheField(body, request)
    expect(await snapshot()).toEqual(before)
    return body
  }

  const property = (arbitrary: fc.Arbitrary<BadRequest>) =>
    fc.assert(fc.asyncProperty(arbitrary, async (request) => void (await refusedCleanly(request))), { numRuns: NUM_RUNS })

  describe('properties', () => {
    it('POST /api/incidents refuses every bad body', () => property(badIncidentCreate))
    it('PATCH /api/incidents/:id refuses every bad body', () => property(badIncidentPatch))
    it('POST /api/areas refuses every bad body', () => property(badAreaCreate))
    it('PATCH /api/areas/:id refuses every bad body', () => property(badAreaPatch))
    it('GET /api/incidents refuses every bad query string', () =>
      property(badQuery.map((q): BadRequest => ({
        what: q.what,
        method: 'GET',
        url: `/api/incidents?${new URLSearchParams(q.params)}`,
        status: 400,
        field: q.field,
        part: 'querystring',
        scalar: { value: q.value },
      }))))
  })

  describe('examples', () => {
    const feature = (geometry: object, properties: object = { name: 'x' }) => ({ type: 'Feature', geometry, properties })
    const bowTieRing = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]

    it('refuses a bow-tie area with PostGIS\'s reason', async () => {
      const body = await refusedCleanly({ what: 'bow-tie', method: 'POST', url: '/api/areas', body: feature({ type: 'Polygon', coordinates: [bowTieRing] }), status: 400, field: '/geometry' })
      expect(body.detail).toBe('geometry is not a valid Polygon: Self-intersection[0.5 0.5]')
    })

    it('refuses redrawing an area as a bow-tie, and keeps the old polygon', async () => {
      const body = await refusedCleanly({ what: 'bow-tie', method: 'PATCH', url: '/api/areas/:area', body: { geometry: { type: 'Polygon', coordinates: [bowTieRing] } }, status: 400, field: '/geometry' })
      expect(body.detail).toContain('Self-intersection')
      expect(await server.app.areas.get(areaId)).toEqual(initialArea)
    })

    it('refuses overlapping parts of a MultiPolygon with PostGIS\'s reason', async () => {
      const body = await refusedCleanly({
        what: 'overlap', method: 'POST', url: '/api/areas', status: 400, field: '/geometry',
        body: feature({ type: 'MultiPolygon', coordinates: [[squareRing(0, 0, 1)], [squareRing(1, 1, 1)]] }),
      })
      expect(body.detail).toMatch(/^geometry is not a valid MultiPolygon: Self-intersection\[/)
    })

    it('names the allowed severities', async () => {
      const allowed = 'must be one of urgent, high, medium, low, info'
      const created = await refusedCleanly({
        what: 'severity', method: 'POST', url: '/api/incidents', status: 400, field: '/properties/severity',
        body: feature(point(1, 2), { name: 'x', severity: 'critical' }),
      })
      expect(created.detail).toBe(`body/properties/severity ${allowed} (got "critical")`)
      const flat = await refusedCleanly({
        what: 'severity', method: 'POST', url: '/api/incidents', status: 400, field: '/severity',
        body: { name: 'x', severity: 'severe', location: { lon: 1, lat: 2 } },
      })
      expect(flat.detail).toBe(`body/severity ${allowed} (got "severe")`)
      const area = await refusedCleanly({
        what: 'severity', method: 'PATCH', url: '/api/areas/:area', status: 400, field: '/properties/severity',
        body: { properties: { severity: 'HIGH' } },
      })
      expect(area.detail).toBe(`body/properties/severity ${allowed} (got "HIGH")`)
      const query = await refusedCleanly({ what: 'severity', method: 'GET', url: '/api/incidents?severity=high&severity=bogus', status: 400, field: '/severity/1', part: 'querystring' })
      expect(query.detail).toBe(`querystring/severity/1 ${allowed} (got "bogus")`)
    })

    it('says exactly which coordinate is out of range', async () => {
      const body = await refusedCleanly({ what: 'lon', method: 'POST', url: '/api/incidents', body: feature(point(200, 0)), status: 400, field: '/geometry/coordinates/0' })
      expect(body.detail).toBe('body/geometry/coordinates/0 must be <= 180 (got 200)')
      const flat = await refusedCleanly({ what: 'lat', method: 'POST', url: '/api/incidents', body: { name: 'x', location: { lon: 1, lat: -95.5 } }, status: 400, field: '/location/lat' })
      expect(flat.detail).toBe('body/location/lat must be >= -90 (got -95.5)')
      const nan = await refusedCleanly({ what: 'NaN', method: 'PATCH', url: '/api/incidents/:incident', body: { geometry: { type: 'Point', coordinates: [1, 'NaN'] } }, status: 400, field: '/geometry/coordinates/1' })
      expect(nan.detail).toBe('body/geometry/coordinates/1 must be number (got "NaN")')
    })

    it('refuses an unclosed ring and a ring of fewer than 4 positions', async () => {
      const unclosed = await refusedCleanly({
        what: 'unclosed', method: 'POST', url: '/api/areas', status: 400, field: '/geometry/coordinates/0',
        body: feature({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] }),
      })
      expect(unclosed.detail).toBe('geometry ring /coordinates/0 is not closed: it starts at [0,0] but ends at [0,1]')
      const multi = await refusedCleanly({
        what: 'unclosed', method: 'PATCH', url: '/api/areas/:area', status: 400, field: '/geometry/coordinates/1/0',
        body: { geometry: { type: 'MultiPolygon', coordinates: [[squareRing(0, 0, 1)], [[[5, 5], [6, 5], [6, 6], [5, 6]]]] } },
      })
      expect(multi.detail).toBe('geometry ring /coordinates/1/0 is not closed: it starts at [5,5] but ends at [5,6]')
      const short = await refusedCleanly({
        what: 'short', method: 'POST', url: '/api/areas', status: 400, field: '/geometry/coordinates/0',
        body: feature({ type: 'Polygon', coordinates: [[[0, 0], [1, 1], [0, 0]]] }),
      })
      expect(short.detail).toBe('body/geometry/coordinates/0 must NOT have fewer than 4 items (got [[0,0],[1,1],[0,0]])')
    })

    it('refuses a Polygon for an incident', async () => {
      const body = await refusedCleanly({ what: 'polygon', method: 'POST', url: '/api/incidents', body: feature(square(0, 0, 1)), status: 400, field: '/geometry/type', scalar: { value: 'Polygon' } })
      expect(body.detail).toBe('body/geometry/type must be "Point" (got "Polygon")')
    })

    it('refuses a Point for an area, naming both allowed geometry types', async () => {
      const body = await refusedCleanly({ what: 'point', method: 'POST', url: '/api/areas', body: feature(point(0, 0)), status: 400, field: '/geometry/type', scalar: { value: 'Point' } })
      expect(body.detail).toBe('body/geometry/type must be one of "Polygon", "MultiPolygon" (got "Point")')
    })

    it('refuses over-long text and unknown fields', async () => {
      const name = 'n'.repeat(151)
      const long = await refusedCleanly({ what: 'name', method: 'POST', url: '/api/incidents', body: feature(point(0, 0), { name }), status: 400, field: '/properties/name' })
      expect(long.detail).toMatch(/^body\/properties\/name must NOT have more than 150 characters \(got "n{76}\.\.\.\)$/)
      expect(long.errors![0]!.value).toBe(name)
      const description = await refusedCleanly({ what: 'description', method: 'PATCH', url: '/api/incidents/:incident', body: { properties: { description: 'd'.repeat(1001) } }, status: 400, field: '/properties/description' })
      expect(description.detail).toContain('must NOT have more than 1000 characters')
      const unknown = await refusedCleanly({ what: 'unknown', method: 'POST', url: '/api/areas', body: feature(square(0, 0, 1), { name: 'x', description: 'areas have none' }), status: 400, field: '/properties/description' })
      expect(unknown.detail).toBe('body/properties/description is not an allowed field (got "areas have none")')
    })

    it('answers 413 to a body over the 1 MiB limit', async () => {
      const body = await refusedCleanly({ what: 'big', method: 'POST', url: '/api/incidents', raw: oversized(feature(point(0, 0)), 1), status: 413 })
      expect(body.detail).toBe('Request body is too large')
      await refusedCleanly({ what: 'big', method: 'PATCH', url: '/api/areas/:area', raw: oversized({ properties: { name: 'x' } }, 10), status: 413 })
    })

    it('refuses a missing or malformed body', async () => {
      await refusedCleanly({ what: 'no body', method: 'POST', url: '/api/incidents', status: 400, field: '/' })
      await refusedCleanly({ what: 'malformed', method: 'POST', url: '/api/areas', raw: '{"type":', status: 400 })
    })

    // -- inputs that pass the JSON schema but that the database cannot take --

    it('refuses a NUL character in text, which PostgreSQL cannot store', async () => {
      await refusedCleanly({ what: 'NUL', method: 'POST', url: '/api/incidents', body: feature(point(0, 0), { name: 'a\u0000b' }), status: 400, field: '/properties/name' })
      await refusedCleanly({ what: 'NUL', method: 'PATCH', url: '/api/incidents/:incident', body: { properties: { description: 'x\u0000' } }, status: 400, field: '/properties/description' })
      await refusedCleanly({ what: 'NUL', method: 'POST', url: '/api/areas', body: feature(square(0, 0, 1), { name: '\u0000' }), status: 400, field: '/properties/name' })
    })

    it('refuses a cursor beyond the id range', async () => {
      for (const url of ['/api/incidents?cursor=2147483648', '/api/incidents?cursor=99999999999', '/api/areas?cursor=2147483648']) {
        await refusedCleanly({ what: 'cursor', method: 'GET', url, status: 400, field: '/cursor', part: 'querystring' })
      }
    })

    it('refuses an infinite cursor as a validation error, not a database error', async () => {
      const body = await refusedCleanly({ what: 'cursor', method: 'GET', url: '/api/incidents?cursor=1e400', status: 400, field: '/cursor', part: 'querystring' })
      expect(body.detail).not.toMatch(/database/)
    })

    // `since` passes the date-time format check; the server may take it (200) or refuse it (400 naming /since), never fail on it
    async function takesOrRefusesSince(since: string) {
      const before = await snapshot()
      const response = await send({ what: 'since', method: 'GET', url: `/api/incidents?since=${encodeURIComponent(since)}`, status: 400 })
      expect([200, 400], `since=${since}: ${response.body}`).toContain(response.statusCode)
      if (response.statusCode === 400) expectNamesTheField(expectCleanProblem(response, 400), { field: '/since', part: 'querystring', scalar: { value: since } })
      expect(await snapshot()).toEqual(before)
    }

    it('never fails on a leap second in since, which RFC 3339 allows and JavaScript cannot hold', () =>
      takesOrRefusesSince('2016-12-31T23:59:60Z'))

    it('never fails on year 0000 in since, which RFC 3339 allows and PostgreSQL reads as 1 BC', () =>
      takesOrRefusesSince('0000-01-01T00:00:00Z'))

    it('names an unknown field whose name holds "/" or "~" as a proper JSON pointer', async () => {
      await refusedCleanly({ what: 'key', method: 'POST', url: '/api/incidents', body: feature(point(0, 0), { name: 'x', 'a/b': 1 }), status: 400, field: '/properties/a~1b' })
      await refusedCleanly({ what: 'key', method: 'PATCH', url: '/api/areas/:area', body: { properties: { '~x': 1 } }, status: 400, field: '/properties/~0x' })
    })

    it('points at the Feature type when a Feature has the wrong one', async () => {
      await refusedCleanly({
        what: 'type', method: 'POST', url: '/api/incidents', status: 400, field: '/type', scalar: { value: 'FeatureCollection' },
        body: { type: 'FeatureCollection', geometry: point(0, 0), properties: { name: 'x' } },
      })
    })

    it('echoes a bad header or bbox value JSON-quoted, as it does body values', async () => {
      await refusedCleanly({
        what: 'if-match', method: 'PATCH', url: '/api/incidents/:incident', headers: { 'if-match': 'latest' }, body: { properties: { name: 'y' } },
        status: 400, field: '/if-match', part: 'headers', scalar: { value: 'latest' },
      })
      await refusedCleanly({
        what: 'bbox', method: 'GET', url: `/api/incidents?bbox=${encodeURIComponent('1,2,"3",4')}`, status: 400, field: '/bbox', part: 'querystring', scalar: { value: '1,2,"3",4' },
      })
    })
  })
})
