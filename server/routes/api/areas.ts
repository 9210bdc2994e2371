import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AreaCreate, AreaFeature, AreaPatch, featureCollection } from '../../../contracts/features.ts'
import { problemResponses } from '../../http/problem.ts'
import { etag, expectedVersion, IfMatchHeaders, ListQuery, parseBBox } from '../../http/request-parsing.ts'
import { IdParams } from '../../../contracts/params.ts'

const areas: FastifyPluginAsyncTypebox = async (app) => {
  const read = { access: 'viewer' as const }
  const write = { access: 'operator' as const }

  app.get('/api/areas', {
    config: read,
    schema: {
      tags: ['areas'],
      summary: 'Areas of interest as a GeoJSON FeatureCollection, oldest first, paged by cursor',
      querystring: Type.Object(ListQuery, { additionalProperties: false }),
      response: { 200: featureCollection(AreaFeature), ...problemResponses(400, 401) },
    },
  }, async (request) => {
    const q = request.query
    const page = await app.areas.list({ bbox: parseBBox(q.bbox), severity: q.severity, cursor: q.cursor, limit: q.limit })
    return { type: 'FeatureCollection' as const, features: page.features, next_cursor: page.nextCursor }
  })

  app.post('/api/areas', {
    config: write,
    schema: {
      tags: ['areas'],
      summary: 'Draw an area of interest: a Feature with a valid Polygon or MultiPolygon; its severity is the alert threshold',
      body: AreaCreate,
      response: { 201: AreaFeature, ...problemResponses(400, 401, 403, 413, 415) },
    },
  }, async (request, reply) => {
    const { properties, geometry } = request.body
    const feature = await app.areas.create({ ...properties, geometry }, request.session!.user.id)
    return reply.code(201).header('location', feature.properties.url).header('etag', etag(feature.properties.version)).send(feature)
  })

  app.get('/api/areas/:id', {
    config: read,
    schema: { tags: ['areas'], params: IdParams, response: { 200: AreaFeature, ...problemResponses(400, 401, 404) } },
  }, async (request, reply) => {
    const feature = await app.areas.get(request.params.id)
    return reply.header('etag', etag(feature.properties.version)).send(feature)
  })

  app.patch('/api/areas/:id', {
    config: write,
    schema: {
      tags: ['areas'],
      summary: 'Rename, re-threshold or redraw an area; a stale version gets 409',
      params: IdParams,
      headers: IfMatchHeaders,
      body: AreaPatch,
      response: { 200: AreaFeature, ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const { properties = {}, geometry } = request.body
    const { version, ...changes } = properties
    const feature = await app.areas.update(request.params.id, { ...changes, geometry }, expectedVersion(version, request.headers['if-match']), request.session!.user.id)
    return reply.header('etag', etag(feature.properties.version)).send(feature)
  })

  app.delete('/api/areas/:id', {
    config: write,
    schema: {
      tags: ['areas'],
      params: IdParams,
      headers: IfMatchHeaders,
      response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    await app.areas.remove(request.params.id, expectedVersion(undefined, request.headers['if-match']), request.session!.user.id)
    return reply.code(204).send(null)
  })
}

export default areas
