import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { CreatedWebhook, NewWebhook, Webhook } from '../../../contracts/deliveries.ts'
import { IdParams } from '../../../contracts/params.ts'
import { problemResponses } from '../../http/problem.ts'
import { InvalidFieldError, NotFoundError } from '../../errors.ts'
import { checkOutboundUrl, RefusedAddressError } from '../../jobs/outbound-address.ts'
import { newWebhookSecret } from '../../jobs/webhook-sender.ts'

/** registered endpoints at most: each alert is POSTed to every matching one */
const MAX_WEBHOOKS = 100

/**
 * Endpoints that receive each alert (and each change of an alert's state) as
 * a signed POST. Operators register them; the signing secret is shown once,
 * in the 201. An endpoint that resolves to an internal address is refused
 * unless WEBHOOK_ALLOWED_HOSTS lists it (server/jobs/outbound-address.ts).
 */
const webhooks: FastifyPluginAsyncTypebox<{ allowedHosts: string[] }> = async (app, options) => {
  const view = (row: { id: number; url: string; min_severity: Webhook['min_severity']; areas: number[] | null; created_by: string | null; created: Date }): Webhook => ({
    id: row.id,
    url: row.url,
    min_severity: row.min_severity,
    areas: row.areas ?? 'all',
    created_by: row.created_by,
    created: new Date(row.created).toISOString(),
  })
  const listQuery = () =>
    app.db
      .selectFrom('webhooks as w')
      .leftJoin('users as u', 'u.id', 'w.created_by_id')
      .select(['w.id', 'w.url', 'w.min_severity', 'w.areas', 'u.username as created_by', 'w.created'])

  app.get('/api/webhooks', {
    config: { access: 'operator' },
    schema: { tags: ['deliveries'], response: { 200: Type.Array(Webhook), ...problemResponses(401, 403) } },
  }, async () => (await listQuery().orderBy('w.id').execute()).map(view))

  app.post('/api/webhooks', {
    config: { access: 'operator' },
    schema: {
      tags: ['deliveries'],
      summary: 'Register an endpoint; the 201 shows its signing secret, once',
      body: NewWebhook,
      response: { 201: CreatedWebhook, ...problemResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const { url, min_severity = 'high', areas = 'all' } = request.body
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new InvalidFieldError('/url', url, `url ${JSON.stringify(url)} is not a URL`)
    }
    if (parsed.username || parsed.password) throw new InvalidFieldError('/url', url, 'url must not carry a user name or password: the signature authenticates each POST')
    try {
      await checkOutboundUrl(url, { allowedHosts: options.allowedHosts })
    } catch (error) {
      if (error instanceof RefusedAddressError) throw new InvalidFieldError('/url', url, `url refused: ${error.message}`)
      throw error
    }
    if (areas !== 'all') {
      const known = new Set((await app.db.selectFrom('areas_of_interest').select('id').where('id', 'in', areas).execute()).map((a) => a.id))
      const unknown = areas.findIndex((id) => !known.has(id))
      if (unknown >= 0) throw new InvalidFieldError(`/areas/${unknown}`, areas[unknown], `areas[${unknown}]: there is no area ${areas[unknown]}`)
    }
    const { n } = await app.db.selectFrom('webhooks').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    if (Number(n) >= MAX_WEBHOOKS) throw new InvalidFieldError('/url', url, `there are already ${MAX_WEBHOOKS} webhooks: delete one first`)
    const secret = newWebhookSecret()
    const { id } = await app.db
      .insertInto('webhooks')
      .values({ url: parsed.toString(), secret, min_severity, areas: areas === 'all' ? null : areas, created_by_id: request.session!.user.id })
      .returning('id')
      .executeTakeFirstOrThrow()
    const row = await listQuery().where('w.id', '=', id).executeTakeFirstOrThrow()
    return reply.code(201).send({ ...view(row), secret })
  })

  app.get('/api/webhooks/:id', {
    config: { access: 'operator' },
    schema: { tags: ['deliveries'], params: IdParams, response: { 200: Webhook, ...problemResponses(400, 401, 403, 404) } },
  }, async (request) => {
    const row = await listQuery().where('w.id', '=', request.params.id).executeTakeFirst()
    if (!row) throw new NotFoundError('webhook', request.params.id)
    return view(row)
  })

  app.delete('/api/webhooks/:id', {
    config: { access: 'operator' },
    schema: {
      tags: ['deliveries'],
      summary: 'Stop sending to an endpoint; what was not yet sent to it fails, saying so',
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const deleted = await app.db.deleteFrom('webhooks').where('id', '=', request.params.id).executeTakeFirst()
    if (deleted.numDeletedRows === 0n) throw new NotFoundError('webhook', request.params.id)
    return reply.code(204).send(null)
  })
}

export default webhooks
