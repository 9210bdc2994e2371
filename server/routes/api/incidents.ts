import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import {
  IncidentCreate, IncidentFeature, IncidentPatch, featureCollection, type IncidentCreate as IncidentCreateBody,
} from '../../../contracts/features.ts'
import type { IncidentInput } from '../../repositories/incidents.ts'
import { problemResponses } from '../../http/problem.ts'
import { etag, expectedVersion, IdParams, IfMatchHeaders, ListQuery, parseBBox, parseSince } from '../../http/request-parsing.ts'

const incidents: FastifyPluginAsyncTypebox = async (app) => {
  const write = { access: 'operator' as const }

  app.get('/api/incidents', {
    schema: {
      tags: ['incidents'],
      summary: 'Incidents as a GeoJSON FeatureCollection, oldest first, paged by cursor',
      querystring: Type.Object({
        ...ListQuery,
        closed: Type.Optional(Type.Boolean()),
        since: Type.Optional(Type.String({ format: 'date-time', description: 'only incidents updated at or after this instant' })),
      }, { additionalProperties: false }),
      response: { 200: featureCollection(IncidentFeature), ...problemResponses(400, 401) },
    },
  }, async (request) => {
    const q = request.query
    const page = await app.incidents.list({
      bbox: parseBBox(q.bbox),
      severity: q.severity,
      closed: q.closed,
      since: parseSince(q.since),
      cursor: q.cursor,
      limit: q.limit,
    })
    return { type: 'FeatureCollection' as const, features: page.features, next_cursor: page.nextCursor }
  })

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
    await app.incidents.remove(request.params.id, expectedVersion(undefined, request.headers['if-match']))
    return reply.code(204).send(null)
  })
}

function incidentInput(body: IncidentCreateBody): IncidentInput {
  if ('type' in body) return { ...body.properties, geometry: body.geometry }
  const { location, ...properties } = body
  return { ...properties, geometry: { type: 'Point', coordinates: [location.lon, location.lat] } }
}

export default incidents
