import type { FastifyPluginAsync } from 'fastify'

/**
 * GET /metrics in the Prometheus text format: a handful of numbers about the
 * live side of this instance. Counts only, nothing about who is connected,
 * so it is public like /api/health (put it behind the proxy's allow-list if
 * even counts should stay inside).
 */
const metrics: FastifyPluginAsync = async (app) => {
  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    const fanOut = app.fanOut
    const relay = app.relay
    const lines = [
      metric('tracker_sockets', 'gauge', 'open authenticated sockets on this instance', fanOut.members.size),
      metric('tracker_frames_sent_total', 'counter', 'notification frames written to sockets', fanOut.stats.framesSent),
      metric('tracker_slow_clients_dropped_total', 'counter', 'sockets cut off for not reading their output', fanOut.stats.droppedSlow),
      metric('tracker_relay_published_total', 'counter', 'outbox rows this instance published', relay.stats.published),
      metric('tracker_relay_vacuums_total', 'counter', 'times this instance vacuumed the outbox (every 10 000 rows it published)', relay.stats.vacuums),
      metric('tracker_relay_lag_seconds', 'gauge', 'age of the oldest unpublished outbox row at the last sweep', relay.stats.lagMs / 1000),
      metric('tracker_notification_layer_up', 'gauge', '1 when the notification layer is reachable', app.streamHealth().ok ? 1 : 0),
    ]
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(lines.join(''))
  })
}

function metric(name: string, type: 'gauge' | 'counter', help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`
}

export default metrics
