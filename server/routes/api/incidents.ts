import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import {
  IncidentCreate, IncidentFeature, IncidentPatch, featureCollection, type IncidentCreate as IncidentCreateBody,
} from '../../../contracts/features.ts'
import { INCIDENT_ROW_COLUMNS, IncidentRowsPage, PageCursors, type IncidentRowsPage as IncidentRowsPageBody } from '../../../contracts/incident-rows.ts'
import type { IncidentFilter, IncidentInput } from '../../repositories/incidents.ts'
import { problemResponses } from '../../http/problem.ts'
import { etag, expectedVersion, IfMatchHeaders, ListQuery, parseBBox, parseSince } from '../../http/request-parsing.ts'
import { IdParams } from '../../../contracts/params.ts'
import { SearchText } from '../../../contracts/incident-search.ts'

const incidents: FastifyPluginAsyncTypebox = async (app) => {
  const read = { access: 'viewer' as const }
  const write = { access: 'operator' as const }

  app.get('/api/incidents', {
    config: read,
    schema: {
      tags: ['incidents'],
      summary: 'Incidents as a GeoJSON FeatureCollection, oldest first, paged by cursor',
      querystring: IncidentListQuery,
      response: { 200: featureCollection(IncidentFeature), ...problemResponses(400, 401) },
    },
  }, async (request) => {
    const page = await app.incidents.list(incidentFilter(request.query))
    return { type: 'FeatureCollection' as const, features: page.features, next_cursor: page.nextCursor }
  })

  // The dashboard's first load: the same list as compact rows, every page at once.
  app.get('/api/incidents/rows', {
    config: read,
    schema: {
      tags: ['incidents'],
      summary: 'The incidents of GET /api/incidents (same filters, order and paging) as compact rows: one array of values per incident',
      querystring: IncidentListQuery,
      response: { 200: IncidentRowsPage, ...problemResponses(400, 401) },
    },
  }, async (request, reply) => {
    const page = await app.incidents.listRows(incidentFilter(request.query))
    // PostgreSQL wrote each row's JSON: joined as they are, not parsed and serialized again
    const body = `{"columns":${JSON.stringify(INCIDENT_ROW_COLUMNS)},"rows":[${page.features.join(',')}],"next_cursor":${page.nextCursor}}`
    // (already JSON text: Fastify sends a string as it is, and the type provider cannot know that it matches the schema)
    return reply.type('application/json; charset=utf-8').send(body as unknown as IncidentRowsPageBody)
  })

  app.get('/api/incidents/cursors', {
    config: read,
    schema: {
      tags: ['incidents'],
      summary: 'Where each page of GET /api/incidents (or /rows) starts, for the same filters and limit: to ask for all pages at once',
      querystring: PageCursorsQuery,
      response: { 200: PageCursors, ...problemResponses(400, 401) },
    },
  }, async (request) => ({ cursors: await app.incidents.pageCursors(incidentFilter(request.query), request.query.pages) }))

  app.post('/api/incidents', {
    config: write,
    schema: {
      tags: ['incidents'],
      summary: 'Report an incident: a GeoJSON Feature with a Point, or {name, description, severity, location: {lon, lat}}',
      body: IncidentCreate,
      response: { 201: IncidentFeature, ...problemResponses(400, 401, 403, 413, 415) },
    },
  }, async (request, reply) => {
    const feature = await app.incidents.create(incidentInput(request.body), request.session!.user.id)
    return reply.code(201).header('location', feature.properties.url).header('etag', etag(feature.properties.version)).send(feature)
  })

  app.get('/api/incidents/:id', {
    config: read,
    schema: { tags: ['incidents'], params: IdParams, response: { 200: IncidentFeature, ...problemResponses(400, 401, 404) } },
  }, async (request, reply) => {
    const feature = await app.incidents.get(request.params.id)
    return reply.header('etag', etag(feature.properties.version)).send(feature)
  })

  app.patch('/api/incidents/:id', {
    config: write,
    schema: {
      tags: ['incidents'],
      summary: 'Change an incident: a partial feature (properties and/or geometry); a stale version gets 409',
      params: IdParams,
      headers: IfMatchHeaders,
      body: IncidentPatch,
      response: { 200: IncidentFeature, ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const { properties = {}, geometry } = request.body
    const { version, ...changes } = properties
    const feature = await app.incidents.update(
      request.params.id,
      { ...changes, geometry },
      expectedVersion(version, request.headers['if-match']),
      request.session!.user.id,
    )
    return reply.header('etag', etag(feature.properties.version)).send(feature)
  })

  app.delete('/api/incidents/:id', {
    config: write,
    schema: {
      tags: ['incidents'],
      params: IdParams,
      headers: IfMatchHeaders,
      response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    await app.incidents.remove(request.params.id, expectedVersion(undefined, request.headers['if-match']), request.session!.user.id)
    return reply.code(204).send(null)
  })
}

const { cursor: CursorQuery, ...IncidentFilterQuery } = {
  ...ListQuery,
  closed: Type.Optional(Type.Boolean()),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'only incidents updated at or after this instant' })),
  q: Type.Optional(SearchText),
}
const IncidentListQuery = Type.Object({ ...IncidentFilterQuery, cursor: CursorQuery }, { additionalProperties: false })
const PageCursorsQuery = Type.Object({
  ...IncidentFilterQuery,
  pages: Type.Integer({ minimum: 1, maximum: 1000, default: 1000, description: 'at most this many cursors (those of the first pages)' }),
}, { additionalProperties: false })

function incidentFilter(q: Static<typeof IncidentListQuery>): IncidentFilter {
  return { bbox: parseBBox(q.bbox), severity: q.severity, closed: q.closed, since: parseSince(q.since), q: q.q, cursor: q.cursor, limit: q.limit }
}

function incidentInput(body: IncidentCreateBody): IncidentInput {
  if ('type' in body) return { ...body.properties, geometry: body.geometry }
  const { location, ...properties } = body
  return { ...properties, geometry: { type: 'Point', coordinates: [location.lon, location.lat] } }
}

export default incidents
