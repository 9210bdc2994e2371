import fp from 'fastify-plugin'
import type { JobsConfig } from '../config.ts'
import { startJobRuntime, type JobRuntime } from './job-runtime.ts'
import { deliveryRepository, type DeliveryRepository } from '../repositories/deliveries.ts'
import { acknowledgeLinkRepository, type AcknowledgeLinkRepository } from '../repositories/acknowledge-links.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** the job engine, its dispatcher and the job-status channel (server/jobs/) */
    jobs: JobRuntime
    deliveries: DeliveryRepository
    acknowledgeLinks: AcknowledgeLinkRepository
  }
}

export interface JobsPluginOptions {
  config: JobsConfig
  redisUrl?: string | undefined
}

/**
 * The server's side of the background work: after a save that decided
 * deliveries or escalations, the dispatcher hands them to the job engine; a job's status
 * reaches the sockets of the user who started it. With JOBS_IN_PROCESS (the
 * embedded default) the jobs also run here; otherwise `npm run worker`
 * processes run them.
 */
export default fp<JobsPluginOptions>(
  async (app, options) => {
    const runtime = startJobRuntime({
      db: app.db,
      config: options.config,
      redisUrl: options.redisUrl,
      work: options.config.inProcess,
      log: { warn: (m, e) => app.log.warn({ err: e }, m), error: (m, e) => app.log.error({ err: e }, m) },
    })
    // only after saves that decided deliveries or escalations: the outbox trigger marks their rows, and the relay says so
    const offDispatchDue = app.relay.onDispatchDue(() => runtime.dispatcher.wakeSoon())
    const unsubscribe = runtime.status.subscribe((message) => app.fanOut.sendToUser(message.user_id, JSON.stringify(message.frame)))

    app.decorate('jobs', runtime)
    app.decorate('deliveries', deliveryRepository(app.db))
    app.decorate('acknowledgeLinks', acknowledgeLinkRepository(app.db))
    app.addHook('onClose', async () => {
      offDispatchDue()
      unsubscribe()
      await runtime.close()
    })
  },
  { name: 'jobs', dependencies: ['database', 'repositories', 'live'] },
)
