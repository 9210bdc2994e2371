import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { defaultAccess } from '../../http/route-access.ts'

/** OpenAPI generated from the route schemas, browsable at /docs (JSON at /docs/json). */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Incident tracker API',
          version: '1',
          description:
            'Incidents and areas of interest as GeoJSON (RFC 7946, [longitude, latitude]). Sign in with POST /api/auth/login; ' +
            'then send the session cookie, `Authorization: Bearer <session_key>`, or `?session_key=`.',
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer' },
            cookie: { type: 'apiKey', in: 'cookie', name: 'session' },
          },
        },
        security: [{ bearer: [] }, { cookie: [] }],
      },
    })
    // the documentation is public: it describes the API, and every route it lists checks access itself
    await app.register(async (scope) => {
      defaultAccess(scope, 'public')
      await scope.register(swaggerUi, {
        routePrefix: '/docs',
        // Swagger UI's own page has inline scripts: its CSP allows exactly those (by hash), and no framing
        staticCSP: true,
        transformStaticCSP: (header) => header.replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
      })
    })
  },
  { name: 'openapi' },
)
