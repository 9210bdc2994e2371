import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import { Type } from 'typebox'

const Component = Type.Object({ ok: Type.Boolean(), kind: Type.String(), detail: Type.Optional(Type.String()) })
const Health = Type.Object({ status: Type.Enum(['ok', 'degraded']), database: Component, notifications: Component })

/** For load balancers and people: 200 when this instance can serve, 503 when its database is unreachable. */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/health', {
    config: { access: 'public' },
    schema: { tags: ['health'], response: { 200: Health, 503: Health } },
  }, async (_request, reply) => {
    const database = await checkDatabase()
    const notifications = app.streamHealth()
    const status = database.ok ? 'ok' : 'degraded'
    return reply.code(database.ok ? 200 : 503).send({ status, database, notifications })
  })

  async function checkDatabase() {
    try {
      await sql`SELECT 1`.execute(app.db)
      return { ok: true, kind: app.dbKind }
    } catch {
      // the reason goes to the log, not to an unauthenticated caller
      app.log.warn('health check: database unreachable')
      return { ok: false, kind: app.dbKind, detail: 'unreachable' }
    }
  }
}

export default health
