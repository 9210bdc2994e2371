import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import { Subscription, SubscriptionView } from '../../../contracts/deliveries.ts'
import { problemResponses } from '../../http/problem.ts'
import { InvalidFieldError } from '../../errors.ts'

/**
 * Each signed-in user's own alert mail: off unless they turn it on. The
 * dashboard shows every alert to everyone regardless; this is only about
 * what reaches them when they are not looking.
 */
const subscription: FastifyPluginAsyncTypebox = async (app) => {
  const read = async (userId: number) => {
    const row = await app.db
      .selectFrom('users as u')
      .leftJoin('subscriptions as s', 's.user_id', 'u.id')
      .select(['u.email', 's.email_alerts', 's.min_severity', 's.areas'])
      .where('u.id', '=', userId)
      .executeTakeFirstOrThrow()
    return {
      email_alerts: row.email_alerts ?? false,
      min_severity: row.min_severity ?? 'high',
      areas: row.areas ?? 'all',
      email: row.email,
    } satisfies SubscriptionView
  }

  app.get('/api/me/subscription', {
    config: { access: 'viewer' },
    schema: { tags: ['deliveries'], summary: 'My alert mail: on or off, from which severity, for which areas', response: { 200: SubscriptionView, ...problemResponses(401) } },
  }, async (request) => read(request.session!.user.id))

  app.put('/api/me/subscription', {
    config: { access: 'viewer' },
    schema: {
      tags: ['deliveries'],
      summary: 'Set my alert mail; turning it on needs an address on my account (an admin sets it)',
      body: Subscription,
      response: { 200: SubscriptionView, ...problemResponses(400, 401) },
    },
  }, async (request) => {
    const userId = request.session!.user.id
    const body = request.body
    if (body.email_alerts) {
      const user = await app.db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirstOrThrow()
      if (!user.email) throw new InvalidFieldError('/email_alerts', true, 'your account has no email address: ask an admin to set one, then turn alert mail on')
    }
    const areas = body.areas === 'all' ? null : body.areas
    await app.db
      .insertInto('subscriptions')
      .values({ user_id: userId, email_alerts: body.email_alerts, min_severity: body.min_severity, areas })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ email_alerts: body.email_alerts, min_severity: body.min_severity, areas, updated: sql<Date>`now()` }))
      .execute()
    return read(userId)
  })
}

export default subscription
