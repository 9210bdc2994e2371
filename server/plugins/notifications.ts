import fp from 'fastify-plugin'
import type { NotificationLayer } from '../notifications/notification-layer.ts'
import { memoryLayer } from '../notifications/memory-layer.ts'
import { redisLayer } from '../notifications/redis-layer.ts'
import { OutboxRelay } from '../notifications/outbox-relay.ts'
import { SocketGroup } from '../notifications/socket-group.ts'

/** WebSocket close code 1012, "service restart": the client should reconnect */
const CLOSE_SERVICE_RESTART = 1012

declare module 'fastify' {
  interface FastifyInstance {
    notifications: NotificationLayer
    relay: OutboxRelay
    socketGroup: SocketGroup
  }
}

export interface NotificationsOptions {
  redisUrl?: string | undefined
  historyLength: number
  relaySweepMs: number
  maxBufferedBytes: number
  slowGraceMs: number
}

/**
 * The live layer of one instance: the notification group (Redis stream, or
 * in-process), the outbox relay woken by every post-save / post-delete hook,
 * and this instance's group of sockets, fed from the notification group.
 * Redis may be down when the server starts: the layer connects in the
 * background, and the outbox holds what is saved meanwhile.
 */
export default fp<NotificationsOptions>(
  async (app, options) => {
    const layer = options.redisUrl
      ? await redisLayer({ url: options.redisUrl, maxLength: options.historyLength, onError: (message) => app.log.warn(message) })
      : memoryLayer(options.historyLength)
    const relay = new OutboxRelay(app.db, layer, {
      sweepIntervalMs: options.relaySweepMs,
      onError: (error) => app.log.warn({ err: error }, 'outbox relay: publishing failed; will retry'),
    })
    const group = new SocketGroup(options.maxBufferedBytes, options.slowGraceMs)
    const unsubscribe = layer.subscribe((delivery) => group.broadcast(delivery))
    // The history this instance's sockets were following is gone (Redis came
    // back without its data), or was never reached (they joined while Redis
    // was down): they may have missed something. Closed, they reconnect with
    // their last id, are told `reset` (another epoch, or none) and reload.
    const offEpochChange = layer.onEpochChange(() => {
      const closed = group.closeWhere(() => true, CLOSE_SERVICE_RESTART, 'notification history restarted')
      if (closed) app.log.warn(`new notification history (Redis reached at last, or it lost its data): closed ${closed} live sockets so their clients reload`)
    })
    app.saveHooks.onPostSave(() => void relay.wake())
    app.saveHooks.onPostDelete(() => void relay.wake())
    void relay.wake() // whatever a previous run left unpublished

    app.decorate('notifications', layer)
    app.decorate('relay', relay)
    app.decorate('socketGroup', group)
    app.decorate('notificationsHealth', () => layer.health())

    app.addHook('preClose', async () => {
      // sockets first (1001 "going away"), so clients reconnect elsewhere
      group.closeWhere(() => true, 1001, 'server shutting down')
    })
    app.addHook('onClose', async () => {
      group.stop()
      await relay.stop()
      unsubscribe()
      offEpochChange()
      await layer.close()
    })
  },
  { name: 'notifications', dependencies: ['database', 'repositories'] },
)
