import fp from 'fastify-plugin'
import { sendProblem } from '../../http/problem.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route takes a WebSocket upgrade (/ws); an upgrade to any other route is refused */
    liveSocket?: boolean
  }
}

/**
 * Upgrades go to the live socket and nowhere else. @fastify/websocket would
 * accept an upgrade on any GET route, then close it, logging the URL (and any
 * `?session_key=` in it) and keeping the socket open while it closes: refuse
 * it before it gets there.
 *
 * A refused upgrade (401, 403, 404, 400…), on any path, leaves a TCP socket
 * that Node no longer tracks as an HTTP connection, so no HTTP timeout ever
 * ends it: say the connection closes, and close it once the answer is sent,
 * or every refused upgrade lingers and holds up shutdown.
 */
export default fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      if (request.ws && !request.is404 && !request.routeOptions.config.liveSocket) {
        return sendProblem(reply, 400, `${request.routeOptions.url} does not take a WebSocket: the live socket is /ws`)
      }
    })
    const refused = (request: { headers: Record<string, unknown> }, status: number) => !!request.headers.upgrade && status !== 101
    app.addHook('onSend', async (request, reply, payload) => {
      if (refused(request, reply.statusCode)) reply.header('connection', 'close')
      return payload
    })
    app.addHook('onResponse', async (request, reply) => {
      if (refused(request, reply.statusCode) && !request.raw.socket.destroyed) request.raw.socket.destroy()
    })
  },
  { name: 'refused-upgrades', dependencies: ['@fastify/websocket'] },
)
