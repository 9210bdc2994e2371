import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type {} from '@fastify/websocket'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { Type } from 'typebox'
import { sendProblem } from '../http/problem.ts'
import { originAllowed } from '../http/origins.ts'
import { EPOCH } from './stream.ts'
import type { FanOutMember } from './fan-out.ts'
import { SocketQuota } from './socket-quota.ts'
import { STREAM_ID } from './stream-ids.ts'
import { join, type JoinRequest } from './join-protocol.ts'
import { watchSessions } from './session-watcher.ts'
import { PingSweep } from './ping-sweep.ts'

export interface SocketRouteOptions {
  /** origins allowed to use the cookie; empty: only the server's own */
  allowedOrigins: string[]
  pingIntervalMs: number
  sessionCheckMs: number
  maxSocketsPerSession: number
  maxSocketsPerUser: number
}

/**
 * GET /ws: the live socket. Authenticated on the HTTP upgrade by the global
 * auth hook (401 before anything is accepted); a cookie must also come from
 * an allowed Origin (403), so another site can't ride a signed-in browser.
 * Once open it joins the fan-out (join-protocol.ts: `?since=<id>&epoch=<epoch>`
 * replays what the client missed), is pinged to find a peer that vanished
 * (ping-sweep.ts),
 * and is closed when its session ends (session-watcher.ts).
 */
const socketRoute: FastifyPluginAsyncTypebox<SocketRouteOptions> = async (app, options) => {
  const fanOut = app.fanOut
  const quota = new SocketQuota(options.maxSocketsPerSession, options.maxSocketsPerUser)
  const pings = new PingSweep(options.pingIntervalMs)

  app.get('/ws', {
    websocket: true,
    config: { access: 'viewer', liveSocket: true },
    schema: {
      hide: true,
      querystring: Type.Object(
        {
          since: Type.Optional(Type.String({ pattern: STREAM_ID.source, description: 'the id of the last notification seen' })),
          epoch: Type.Optional(Type.String({ pattern: EPOCH.source, description: 'the epoch of the `ready` frame that id came after' })),
        },
        { additionalProperties: false },
      ),
    },
    onRequest: async (request, reply) => {
      if (request.sessionKeySource !== 'cookie') return
      const origin = request.headers.origin
      if (!origin || !originAllowed(request, origin, options.allowedOrigins)) {
        return sendProblem(reply, 403, `origin ${JSON.stringify(origin ?? null)} may not use the session cookie here`)
      }
    },
    // Refused before the upgrade (as 401/403 are): nothing is allocated for
    // it, and a browser retries with its backoff, where a socket accepted and
    // closed with 1008 would read as "signed out". Counted here, in one tick
    // with the check, and given back when the TCP connection closes, whether
    // the upgrade went through or failed.
    preHandler: async (request, reply) => {
      // a plain GET (or HEAD) of /ws is answered 404 by the plugin and holds nothing
      if (!request.ws) return
      const session = request.session!
      const taken = quota.take(session.sessionId, session.user.id)
      if (!('release' in taken)) {
        const whose = taken.limit === 'session' ? 'this session' : `${session.user.username}`
        return sendProblem(reply, 429, `too many live sockets: ${whose} already has ${taken.max} open, the most allowed per ${taken.limit}; close one first`)
      }
      const raw = request.raw.socket
      raw.once('close', taken.release)
      if (raw.destroyed) taken.release()
    },
  }, async (socket, request) => {
    const session = request.session!
    const member: FanOutMember = {
      socket,
      sessionId: session.sessionId,
      userId: session.user.id,
      absoluteExpires: session.absoluteExpires,
      replaying: Boolean((request.query as JoinRequest).since),
      seenThrough: null,
    }
    pings.watch(socket)
    socket.on('close', () => fanOut.remove(member))
    releaseUpgrade(socket, request)
    // clients have nothing to say but pongs; anything over maxPayload closes with 1009 (ws does that)
    socket.on('message', ignore)

    await join(app.stream, fanOut, member, request.query as JoinRequest, request.log)
  })

  const stopWatching = watchSessions(app, fanOut, options.sessionCheckMs)
  app.addHook('onClose', async () => {
    stopWatching()
    pings.stop()
  })
}

/**
 * An idle socket lives for hours, and what each one holds is multiplied by
 * thousands. @fastify/websocket's 'error' listener closes over the request
 * and reply, and Node leaves the upgrade's ServerResponse (and through it the
 * request) on the TCP socket; none of it is used once the socket is open. Our
 * own listener is all a socket needs: an error (a client's malformed frame,
 * a reset connection) ends it, and a client's mistake is not worth a log line.
 */
const ignore = () => {}

function releaseUpgrade(socket: WebSocket, request: FastifyRequest): void {
  socket.removeAllListeners('error')
  socket.on('error', () => socket.terminate())
  const raw = request.raw.socket as Socket & { _httpMessage?: ServerResponse | null }
  raw._httpMessage?.detachSocket(raw)
}

export default socketRoute
