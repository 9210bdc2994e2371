import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'

/**
 * @fastify/rate-limit, off by default: only the routes that ask for a limit
 * (sign-in) get one. A refusal goes through the error handler as a problem
 * body that says how long to wait.
 */
export default fp(
  async (app) => {
    await app.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) => {
        const error = new Error(`too many attempts: try again in ${Math.ceil(context.ttl / 1000)} s`) as Error & { statusCode: number }
        error.statusCode = 429
        return error
      },
    })
  },
  { name: 'rate-limit' },
)
