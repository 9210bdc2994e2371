import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Delivery, DeliveryPage, DELIVERY_STATES } from '../../../contracts/deliveries.ts'
import { IdParams } from '../../../contracts/params.ts'
import { problemResponses } from '../../http/problem.ts'
import { InvalidFieldError } from '../../errors.ts'
import { deliveryView, retryJobId } from '../../repositories/deliveries.ts'

const DeliveryQuery = Type.Object({
  state: Type.Optional(Type.Enum(DELIVERY_STATES)),
  status: Type.Optional(Type.Enum(DELIVERY_STATES, { description: 'another name for `state` (the issue that asked for this list says `status`)' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  cursor: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: '`next_cursor` of the previous page' })),
}, { additionalProperties: false })

/**
 * What the worker sent, is sending, and gave up on: admins only, since each
 * row names a person's address or an endpoint. A failed delivery can be
 * sent again by hand; its job reports to the admin's sockets.
 */
const deliveries: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/deliveries', {
    config: { access: 'admin' },
    schema: {
      tags: ['deliveries'],
      summary: 'Alert mail and webhook deliveries, newest first; ?state=failed for what needs a look',
      querystring: DeliveryQuery,
      response: { 200: DeliveryPage, ...problemResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { state = request.query.status, status } = request.query
    if (status !== undefined && state !== status) {
      throw new InvalidFieldError('/status', status, `status ${JSON.stringify(status)} and state ${JSON.stringify(state)} disagree: give one of them (status is another name for state)`, 'querystring')
    }
    const page = await app.deliveries.list({ state, cursor: request.query.cursor, limit: request.query.limit })
    return { deliveries: page.deliveries, next_cursor: page.nextCursor }
  })

  app.post('/api/deliveries/:id/retry', {
    config: { access: 'admin' },
    schema: {
      tags: ['deliveries'],
      summary: 'Send a failed delivery again (409 unless it failed); the job reports to your sockets',
      params: IdParams,
      response: { 202: Delivery, ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const row = await app.deliveries.retry(request.params.id)
    const userId = request.session!.user.id
    // the row is pending again either way: if the engine can't take the job now, the dispatcher hands it over later
    await app.jobs.dispatcher
      .addNow({ name: 'deliver', id: retryJobId(row), data: { deliveryIds: [row.id] }, startedBy: { userId, kind: 'delivery_retry', subjectId: row.id } })
      .catch(async (error: unknown) => {
        request.log.warn({ err: error }, 'retry: the job engine is unreachable; the dispatcher will hand the delivery over')
        await app.db.updateTable('deliveries').set({ enqueued: null }).where('id', '=', row.id).execute()
        void app.jobs.dispatcher.wake()
      })
    return reply.code(202).send(deliveryView(row))
  })
}

export default deliveries
