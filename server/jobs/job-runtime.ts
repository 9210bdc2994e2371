import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { JobsConfig } from '../config.ts'
import type { JobEngine, JobHandlers } from './engine.ts'
import { bullmqEngine } from './bullmq-engine.ts'
import { inProcessEngine } from './in-process-engine.ts'
import { Dispatcher } from './dispatcher.ts'
import { Housekeeping } from './housekeeping.ts'
import { memoryJobStatus, redisJobStatus, type JobStatusChannel } from './job-status.ts'
import { noMailer, smtpMailer, type Mailer } from './mailer.ts'
import { deliverHandler } from './deliver.ts'
import { escalateHandler } from './escalate.ts'
import { inviteHandler } from './invite.ts'
import { deliveryRepository } from '../repositories/deliveries.ts'
import { acknowledgeLinkRepository } from '../repositories/acknowledge-links.ts'

// One place that builds the background half for a process: the engine, the
// dispatcher that feeds it from the database, the channel job statuses
// travel on, and (where jobs run in this process) the handlers. The server
// builds it in its jobs plugin; `npm run worker` builds it in worker.ts.

export interface JobRuntime {
  engine: JobEngine
  dispatcher: Dispatcher
  status: JobStatusChannel
  /** whether this process runs jobs, or only adds them */
  working: boolean
  close(): Promise<void>
}

export interface JobRuntimeOptions {
  db: Kysely<Database>
  config: JobsConfig
  redisUrl?: string | undefined
  /** run the handlers here (a worker, or the embedded default) */
  work: boolean
  log: { warn: (message: string, error?: unknown) => void; error: (message: string, error?: unknown) => void }
}

export function startJobRuntime(options: JobRuntimeOptions): JobRuntime {
  const { db, config, log } = options
  const status = options.redisUrl ? redisJobStatus(options.redisUrl, (m) => log.warn(m)) : memoryJobStatus()
  const onStatus = status.publish.bind(status)
  const onError = (message: string, error?: unknown) => log.warn(message, error)
  const engine = options.redisUrl
    ? bullmqEngine({ redisUrl: options.redisUrl, policy: config.policy, lockDurationMs: config.lockMs, onStatus, onError })
    : inProcessEngine({ policy: config.policy, onStatus, onError })
  const dispatcher = new Dispatcher(db, engine, {
    intervalMs: config.dispatchMs,
    onError: (error) => log.warn('job dispatcher: could not hand work to the job engine; will retry', error),
  })

  let mailer: Mailer | undefined
  let housekeeping: Housekeeping | undefined
  if (options.work) {
    mailer = config.smtpUrl ? smtpMailer(config.smtpUrl, config.mailFrom, config.timeoutMs) : noMailer()
    const outbound = { allowedHosts: config.webhookAllowedHosts }
    const handlers: JobHandlers = {
      deliver: deliverHandler({
        db,
        deliveries: deliveryRepository(db),
        acknowledgeLinks: acknowledgeLinkRepository(db),
        mailer,
        outbound,
        publicUrl: config.publicUrl,
        ackLinkTtlHours: config.ackLinkTtlHours,
        timeoutMs: config.timeoutMs,
      }),
      escalate: escalateHandler({
        db,
        wakeDispatcher: () => void dispatcher.wake(),
        onError: (m, e) => log.error(m, e),
      }),
      invite: inviteHandler({ db, mailer, publicUrl: config.publicUrl, ttlHours: config.inviteTtlHours }),
    }
    engine.work(handlers, config.concurrency)
    // where jobs run, old rows are cleared out too: one place per deployment that surely runs
    housekeeping = new Housekeeping(db, { retentionDays: config.retentionDays, onError: (e) => log.warn('housekeeping: could not clear out old rows; will retry', e) })
    housekeeping.start()
  }
  void dispatcher.wake() // whatever an earlier run left

  return {
    engine,
    dispatcher,
    status,
    working: options.work,
    async close() {
      await housekeeping?.stop()
      await dispatcher.stop()
      await engine.close()
      mailer?.close()
      await status.close()
    },
  }
}
