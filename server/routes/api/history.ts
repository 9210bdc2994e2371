import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { History } from '../../../contracts/history.ts'
import { IdParams } from '../../../contracts/params.ts'
import { problemResponses } from '../../http/problem.ts'
import { hasRole } from '../../auth/roles.ts'

/**
 * Who changed an incident or an area, what and when, oldest first. Once it is
 * deleted, only admins may still read it: to anyone else it is gone.
 */
const history: FastifyPluginAsyncTypebox = async (app) => {
  for (const kind of ['incident', 'area'] as const) {
    app.get(`/api/${kind}s/:id/history`, {
      config: { access: 'viewer' },
      schema: {
        tags: [`${kind}s`],
        summary: `The history of one ${kind}: every change, with who, when, and each field before and after`,
        params: IdParams,
        response: { 200: History, ...problemResponses(400, 401, 404) },
      },
    }, async (request) => ({
      entries: await app.history.of(kind, request.params.id, { includeDeleted: hasRole(request.session, 'admin') }),
    }))
  }
}

export default history
