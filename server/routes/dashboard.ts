import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import fastifyStatic from '@fastify/static'
import { PROJECT_ROOT } from '../../db/project-root.ts'
import { sendProblem } from '../http/problem.ts'
import { defaultAccess } from '../http/route-access.ts'
import { ClientConfig } from '../../contracts/client-config.ts'

export interface DashboardOptions {
  tiles: { url: string; attribution: string }
}

// from the project root, not import.meta.url: `npm start` runs this file bundled elsewhere (db/project-root.ts)
const DIST = join(PROJECT_ROOT, 'web', 'dist')

/**
 * The built dashboard (web/dist, made by `npm install`) at /, and the little
 * configuration it needs before anyone signs in.
 */
const dashboard: FastifyPluginAsyncTypebox<DashboardOptions> = async (app, options) => {
  app.get('/api/client-config', {
    config: { access: 'public' },
    schema: {
      tags: ['dashboard'],
      summary: 'Base map settings for the dashboard',
      response: { 200: ClientConfig },
    },
  }, async () => ({ tileUrl: options.tiles.url, tileAttribution: options.tiles.attribution }))

  if (!existsSync(DIST)) {
    app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      sendProblem(reply, 503, 'the dashboard is not built: run `npm install` (or `npx vite build`); the API is under /api, documented at /docs'),
    )
    return
  }
  // the page and its assets are public: they hold no data, and the page signs in before it asks for any
  defaultAccess(app, 'public')
  await app.register(fastifyStatic, { root: DIST, prefix: '/', wildcard: false, index: ['index.html'] })
}

export default dashboard
