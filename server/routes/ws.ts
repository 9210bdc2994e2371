import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type {} from '@fastify/websocket'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { Type } from 'typebox'
import type { ReadyFrame, ResetFrame } from '../../contracts/live.ts'
import { sendProblem } from '../http/problem.ts'
import { originAllowed } from '../http/origins.ts'
import { EPOCH, ReplayGapError } from '../notifications/notification-layer.ts'
import type { GroupMember } from '../notifications/socket-group.ts'
import { SocketQuota } from '../notifications/socket-quota.ts'
import { STREAM_ID } from '../notifications/stream-ids.ts'

export interface WsRouteOptions {
  /** origins allowed to use the cookie; empty: only the server's own */
  allowedOrigins: string[]
  pingIntervalMs: number
  sessionCheckMs: number
  maxSocketsPerSession: number
  maxSocketsPerUser: number
}

const CLOSE_POLICY = 1008

/**
 * GET /ws: the live socket. Authenticated on the HTTP upgrade by the global
 * auth hook (401 before anything is accepted); a cookie must also come from
 * an allowed Origin (403), so another site can't ride a signed-in browser.
 * `?since=<id>&epoch=<epoch>` replays what the client missed before it goes
 * live; an id from another epoch (or without one) gets `reset` instead.
 */
const ws: FastifyPluginAsyncTypebox<WsRouteOptions> = async (app, options) => {
  const group = app.socketGroup
  const quota = new SocketQuota(options.maxSocketsPerSession, options.maxSocketsPerUser)

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
    const { since, epoch } = request.query as { since?: string; epoch?: string }
    const member: GroupMember = {
      socket,
      sessionId: session.sessionId,
      userId: session.user.id,
      absoluteExpires: session.absoluteExpires,
      replaying: Boolean(since),
      seenThrough: null,
    }
    let alive = true
    socket.on('pong', () => (alive = true))
    const ping = setInterval(() => {
      // no pong since the last ping: the peer is gone without saying so
      if (!alive) return socket.terminate()
      alive = false
      socket.ping()
    }, options.pingIntervalMs)
    socket.on('close', () => {
      clearInterval(ping)
      group.remove(member)
    })
    releaseUpgrade(socket, request)
    // clients have nothing to say but pongs; anything over maxPayload closes with 1009 (ws does that)
    socket.on('message', () => {})

    group.add(member)
    // read in the same tick as joining: everything after this id reaches the socket live
    const joinedAt = app.notifications.position()
    const history = app.notifications.epoch()
    if (!since) {
      group.skipThrough(member, joinedAt)
      socket.send(JSON.stringify({ type: 'ready', id: joinedAt, epoch: history ?? null } satisfies ReadyFrame))
      return
    }
    let reset = false
    try {
      // an id of another history, or one we can't check, compares with this
      // history's ids as if it were in it: a replay would be partial
      const replay = epoch && epoch === history ? await app.notifications.replay(since) : { reset: true as const }
      if (replay.reset || app.notifications.epoch() !== history) {
        reset = true
      } else {
        // `since` is within the history (the replay proved it), so a real id
        group.skipThrough(member, since)
        // page by page, each written only once the socket has taken enough of
        // the last; a socket that stops reading is cut off by the group's
        // slow-reader rule, and the loop ends with it
        for await (const page of replay.pages) {
          await group.sendPaced(member, page.deliveries)
          if (socket.readyState !== socket.OPEN) break
          group.skipThrough(member, page.through)
        }
      }
    } catch (error) {
      if (!(error instanceof ReplayGapError)) request.log.warn({ err: error }, 'replay failed; asking the client to reload')
      reset = true
    }
    if (socket.readyState !== socket.OPEN) return
    // the history changed under the replay: what was sent may be partial (the socket is being closed for it too)
    if (app.notifications.epoch() !== history) reset = true
    if (reset) {
      // the client reloads from now on: it goes live from here
      socket.send(JSON.stringify({ type: 'reset' } satisfies ResetFrame))
      group.skipThrough(member, app.notifications.position())
    }
    // In the same turn of the loop as the last page (or the reset): the
    // notifications after it are all still to be fanned out, and now reach it.
    member.replaying = false
    socket.send(JSON.stringify({ type: 'ready', id: member.seenThrough!.id, epoch: history ?? null } satisfies ReadyFrame))
  })

  // Sign-out and user changes on this instance close their sockets at once.
  const offRevoked = app.sessionEvents.onRevoked(({ sessionIds, userId }) => {
    const ids = new Set(sessionIds)
    group.closeWhere((m) => ids.has(m.sessionId) || m.userId === userId, CLOSE_POLICY, 'session ended')
  })

  // Revocations made elsewhere (another instance, the user command) and
  // expiries are found by asking the database, every `sessionCheckMs`.
  const check = setInterval(() => void closeEndedSessions(), options.sessionCheckMs)
  check.unref()
  async function closeEndedSessions() {
    const ids = [...new Set([...group.members].map((m) => m.sessionId))]
    if (ids.length === 0) return
    try {
      const live = new Set<number>()
      for (let i = 0; i < ids.length; i += 5000) {
        const rows = await app.sessions.stillValid(ids.slice(i, i + 5000))
        rows.forEach((id) => live.add(id))
      }
      group.closeWhere((m) => !live.has(m.sessionId), CLOSE_POLICY, 'session ended')
    } catch (error) {
      app.log.warn({ err: error }, 'could not check the sessions of open sockets')
    }
  }

  app.addHook('onClose', async () => {
    clearInterval(check)
    offRevoked()
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
function releaseUpgrade(socket: WebSocket, request: FastifyRequest): void {
  socket.removeAllListeners('error')
  socket.on('error', () => socket.terminate())
  const raw = request.raw.socket as Socket & { _httpMessage?: ServerResponse | null }
  raw._httpMessage?.detachSocket(raw)
}

export default ws
