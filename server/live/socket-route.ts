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
  /** upgrades under way, counted in the quota: how each gives its place back if it closes before it is accepted */
  const upgrading = new WeakMap<FastifyRequest, () => void>()

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
    // the upgrade went through or failed: until the upgrade by a listener on
    // the TCP socket, after it by the socket's own close (acceptSocket).
    preHandler: async (request, reply) => {
      // a plain GET (or HEAD) of /ws is answered 404 by the plugin and holds nothing
      if (!request.ws) return
      const session = request.session!
      const refused = quota.take(session.sessionId, session.user.id)
      if (refused) {
        const whose = refused.limit === 'session' ? 'this session' : `${session.user.username}`
        return sendProblem(reply, 429, `too many live sockets: ${whose} already has ${refused.max} open, the most allowed per ${refused.limit}; close one first`)
      }
      const raw = request.raw.socket
      const giveBack = () => {
        if (!upgrading.delete(request)) return
        raw.off('close', giveBack)
        quota.giveBack(session.sessionId, session.user.id)
      }
      upgrading.set(request, giveBack)
      raw.on('close', giveBack)
      if (raw.destroyed) giveBack()
    },
  }, async (socket, request) => {
    const session = request.session!
    // ws accepts only a socket that is still open, so the place is still
    // counted; acceptSocket's close listener gives it back from now on
    const giveBack = upgrading.get(request)
    if (!giveBack) return socket.terminate()
    upgrading.delete(request)
    request.raw.socket.off('close', giveBack)
    const member: FanOutMember = {
      socket,
      sessionId: session.sessionId,
      userId: session.user.id,
      replaying: Boolean((request.query as JoinRequest).since),
      seenThrough: null,
      overCapSince: null,
    }
    acceptSocket(member, request)
    await join(app.stream, fanOut, member, request.query as JoinRequest, request.log)
  })

  /**
   * What a live socket holds once it is open, for hours, thousands at a
   * time, so each closure or listener per socket is multiplied: its member
   * of the fan-out, its place in the ping sweep, and one close listener that
   * gives both and its quota back. @fastify/websocket's 'error' listener
   * closes over the request and reply, and Node leaves the upgrade's
   * ServerResponse (and through it the request) on the TCP socket; none of it
   * is used once the socket is open. One 'error' listener shared by every
   * socket is all it needs: an error (a client's malformed frame, a reset
   * connection) ends it, and a client's mistake is not worth a log line.
   * Clients have nothing to say but pongs, so nobody listens for messages
   * (anything over maxPayload closes with 1009: ws does that).
   */
  function acceptSocket(member: FanOutMember, request: FastifyRequest): void {
    const socket = member.socket
    socket.removeAllListeners('error')
    socket.on('error', terminate)
    const raw = request.raw.socket as Socket & { _httpMessage?: ServerResponse | null }
    raw._httpMessage?.detachSocket(raw)
    dropClearedTimer(raw)
    pings.watch(socket)
    socket.on('close', () => {
      fanOut.remove(member)
      pings.forget(member.socket)
      quota.giveBack(member.sessionId, member.userId)
    })
  }

  const stopWatching = watchSessions(app, fanOut, options.sessionCheckMs)
  app.addHook('onClose', async () => {
    stopWatching()
    pings.stop()
  })
}

/**
 * The HTTP server's idle timeout (Fastify's connectionTimeout) armed a timer
 * on every TCP connection; ws sets the timeout to 0 on upgrade, which clears
 * it, but Node keeps the cleared timer on the socket (and refreshes it, to no
 * effect, on every read and write). Set back to null, as on a socket that
 * never had a timeout: `setTimeout` makes a new one if anyone asks again. The
 * slot is Node's private `Symbol('timeout')`; if it is ever renamed this does
 * nothing.
 */
function dropClearedTimer(raw: Socket): void {
  const slot = Object.getOwnPropertySymbols(raw).find((symbol) => symbol.description === 'timeout')
  const timer = slot && (raw as unknown as Record<symbol, { _destroyed?: boolean } | null>)[slot]
  if (timer?._destroyed) (raw as unknown as Record<symbol, null>)[slot!] = null
}

/** the 'error' listener of every live socket: `this` is the socket */
function terminate(this: WebSocket): void {
  this.terminate()
}

export default socketRoute
