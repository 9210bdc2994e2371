import fp from 'fastify-plugin'
import { CLOSE_CODES } from '../../contracts/live.ts'
import type { NotificationStream } from './stream.ts'
import { memoryStream } from './memory-stream.ts'
import { redisStream } from './redis-stream.ts'
import { OutboxRelay } from './outbox-relay.ts'
import { FanOut } from './fan-out.ts'
import socketRoute, { type SocketRouteOptions } from './socket-route.ts'
import metricsRoute from './metrics-route.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** the ordered, replayable history every instance follows (Redis, or in-process) */
    stream: NotificationStream
    /** publishes committed outbox rows to the stream */
    relay: OutboxRelay
    /** this instance's open, authenticated sockets */
    fanOut: FanOut
    streamHealth: () => { ok: boolean; kind: string; detail?: string }
  }
}

export interface LiveOptions {
  redisUrl?: string | undefined
  historyLength: number
  relaySweepMs: number
  /** origins allowed to use the session cookie on /ws; empty: only the server's own */
  allowedOrigins: string[]
  /** the bounds and clocks of each socket (WS_* and SESSION_CHECK_MS in docs/configuration.md) */
  sockets: Omit<SocketRouteOptions, 'allowedOrigins'> & { maxBufferedBytes: number; slowGraceMs: number }
}

/**
 * Everything after the commit, for one instance: the post-save / post-delete
 * hooks wake the outbox relay, which publishes to the stream; the stream
 * hands every notification to this instance's fan-out, which writes it to
 * each socket that joined at /ws. Redis may be down when the server starts:
 * the stream connects in the background, and the outbox holds what is saved
 * meanwhile.
 */
export default fp<LiveOptions>(
  async (app, options) => {
    const stream = options.redisUrl
      ? await redisStream({ url: options.redisUrl, maxLength: options.historyLength, onError: (message) => app.log.warn(message) })
      : memoryStream(options.historyLength)
    const relay = new OutboxRelay(app.db, stream, {
      sweepIntervalMs: options.relaySweepMs,
      onError: (error) => app.log.warn({ err: error }, 'outbox relay: publishing failed; will retry'),
    })
    const fanOut = new FanOut(options.sockets.maxBufferedBytes, options.sockets.slowGraceMs)
    const unsubscribe = stream.subscribe((delivery) => fanOut.broadcast(delivery))
    // The history this instance's sockets were following is gone (Redis came
    // back without its data), or was never reached (they joined while Redis
    // was down): they may have missed something. Closed, they reconnect with
    // their last id, are told `reset` (another epoch, or none) and reload.
    const offEpochChange = stream.onEpochChange(() => {
      const closed = fanOut.closeWhere(() => true, CLOSE_CODES.HISTORY_RESTARTED, 'notification history restarted')
      if (closed) app.log.warn(`new notification history (Redis reached at last, or it lost its data): closed ${closed} live sockets so their clients reload`)
    })
    app.saveHooks.onPostSave(() => void relay.wake())
    app.saveHooks.onPostDelete(() => void relay.wake())
    app.saveHooks.onPostAlertUpdate(() => void relay.wake())
    void relay.wake() // whatever a previous run left unpublished

    app.decorate('stream', stream)
    app.decorate('relay', relay)
    app.decorate('fanOut', fanOut)
    app.decorate('streamHealth', () => stream.health())

    await app.register(socketRoute, { ...options.sockets, allowedOrigins: options.allowedOrigins })
    await app.register(metricsRoute)

    app.addHook('preClose', async () => {
      // sockets first ("going away"), so clients reconnect elsewhere
      fanOut.closeWhere(() => true, CLOSE_CODES.GOING_AWAY, 'server shutting down')
    })
    app.addHook('onClose', async () => {
      fanOut.stop()
      await relay.stop()
      unsubscribe()
      offEpochChange()
      await stream.close()
    })
  },
  { name: 'live', dependencies: ['database', 'repositories', 'auth', '@fastify/websocket'] },
)
