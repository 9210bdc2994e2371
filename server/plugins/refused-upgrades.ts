import fp from 'fastify-plugin'

/**
 * A refused WebSocket upgrade (401, 403, 404, 400…), on any path, leaves a
 * TCP socket that Node no longer tracks as an HTTP connection, so no HTTP
 * timeout ever ends it: say the connection closes, and close it once the
 * answer is sent, or every refused upgrade lingers and holds up shutdown.
 */
export default fp(
  async (app) => {
    const refused = (request: { headers: Record<string, unknown> }, status: number) => !!request.headers.upgrade && status !== 101
    app.addHook('onSend', async (request, reply, payload) => {
      if (refused(request, reply.statusCode)) reply.header('connection', 'close')
      return payload
    })
    app.addHook('onResponse', async (request, reply) => {
      if (refused(request, reply.statusCode) && !request.raw.socket.destroyed) request.raw.socket.destroy()
    })
  },
  { name: 'refused-upgrades' },
)
