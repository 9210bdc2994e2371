import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AcknowledgeBody, Alert, AlertPage, AlertState, AlertSummary, ALERT_STATES } from '../../../contracts/alerts.ts'
import { IdParams } from '../../../contracts/params.ts'
import { problemResponses } from '../../http/problem.ts'
import { parseSince } from '../../http/request-parsing.ts'

const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })

const AlertListQuery = Type.Object({
  state: Type.Optional(Type.Array(AlertState, { maxItems: ALERT_STATES.length, description: 'repeat the key for several: state=open&state=acknowledged' })),
  area: Type.Optional(Type.Integer({ ...Id, description: 'only alerts of this area' })),
  incident: Type.Optional(Type.Integer({ ...Id, description: 'only alerts of this incident' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'only alerts fired at or after this instant' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: '`next_cursor` of the previous page' })),
}, { additionalProperties: false })

/**
 * The alert log: every firing of the alert rule as a record everyone shares.
 * Anyone signed in reads it; operators and admins acknowledge ("I've got
 * this"), and every screen hears of it through an `alert_update` frame.
 */
const alerts: FastifyPluginAsyncTypebox = async (app) => {
  const read = { access: 'viewer' as const }

  app.get('/api/alerts', {
    config: read,
    schema: {
      tags: ['alerts'],
      summary: 'The alert log, newest first, paged by cursor',
      querystring: AlertListQuery,
      response: { 200: AlertPage, ...problemResponses(400, 401) },
    },
  }, async (request) => {
    const q = request.query
    const page = await app.alerts.list({ state: q.state, area: q.area, incident: q.incident, since: parseSince(q.since), cursor: q.cursor, limit: q.limit })
    return { alerts: page.alerts, next_cursor: page.nextCursor }
  })

  app.get('/api/alerts/summary', {
    config: read,
    schema: { tags: ['alerts'], summary: 'How many alerts there are in each state, and standing ones by severity', response: { 200: AlertSummary, ...problemResponses(401) } },
  }, async () => app.alerts.summary())

  app.get('/api/alerts/:id', {
    config: read,
    schema: { tags: ['alerts'], params: IdParams, response: { 200: Alert, ...problemResponses(400, 401, 404) } },
  }, async (request) => app.alerts.get(request.params.id))

  app.post('/api/alerts/:id/acknowledge', {
    config: { access: 'operator' },
    schema: {
      tags: ['alerts'],
      summary: 'Take an open alert, with an optional note; one already taken or resolved gets 409 saying by whom or why',
      params: IdParams,
      body: AcknowledgeBody,
      response: { 200: Alert, ...problemResponses(400, 401, 403, 404, 409) },
    },
    // the note is optional, and so is the body that carries it
    preValidation: async (request) => {
      request.body ??= {}
    },
  }, async (request) => {
    const { user } = request.session!
    return app.alerts.acknowledge(request.params.id, { id: user.id, username: user.username }, request.body.note ?? null)
  })
}

export default alerts
