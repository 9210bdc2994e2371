import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

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
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'openapi' },
)
