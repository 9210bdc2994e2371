import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import type { JobEngine, JobHandlers, JobName, NewJob, RetryPolicy, StartedBy, StatusListener } from './engine.ts'
import { backoffDelay } from './engine.ts'
import { runAttempt } from './attempt.ts'

// BullMQ on the Redis the notifications use. Every process that adds jobs
// (the servers) holds a Queue; every worker process also holds a Worker, and
// BullMQ shares the jobs among them. A worker killed mid-job leaves the job
// "stalled": another (or the restarted one) takes it again within about
// twice `lockDurationMs`, and the handler's own records make the second run skip
// what was sent.

const QUEUE = 'jobs'
/** a job run again this many times after stalling (its worker died) is given up: high, since a crash loop is the only way to reach it */
const MAX_STALLED = 10

type Stored = { data: unknown; startedBy?: StartedBy }

export interface BullmqEngineOptions {
  redisUrl: string
  policy: RetryPolicy
  /** how long a job's lock lasts without renewal: a dead worker's job is run again after about this long */
  lockDurationMs: number
  onStatus: StatusListener
  onError: (message: string, error?: unknown) => void
}

export function bullmqEngine(options: BullmqEngineOptions): JobEngine {
  // The queue fails fast while Redis is away (no offline queue): the
  // dispatcher keeps the rows and adds them again on its next pass.
  const queueConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false })
  queueConnection.on('error', () => {}) // reported by the adds that fail
  const queue = new Queue(QUEUE, {
    connection: queueConnection,
    defaultJobOptions: {
      attempts: options.policy.attempts,
      backoff: { type: 'jittered' },
      // kept a day: while a job is kept, adding its id again is ignored
      removeOnComplete: { age: 86_400, count: 100_000 },
      removeOnFail: { age: 7 * 86_400, count: 100_000 },
    },
  })
  queue.on('error', () => {})
  let worker: Worker | undefined
  let handlers: JobHandlers | undefined

  return {
    kind: 'bullmq',
    async add(job: NewJob) {
      // the first adds after a start come before the connection is up: wait for it a moment rather than fail them
      if (queueConnection.status === 'connecting' || queueConnection.status === 'wait') await readyWithin(queueConnection, 2000)
      const stored: Stored = { data: job.data, ...(job.startedBy ? { startedBy: job.startedBy } : {}) }
      await queue.add(job.name, stored, { jobId: job.id, ...(job.delayMs && job.delayMs > 0 ? { delay: Math.round(job.delayMs) } : {}) })
      if (job.startedBy) options.onStatus(job.startedBy, job.id, 'queued')
    },
    async addMany(jobs: NewJob[]) {
      if (jobs.length === 0) return
      if (queueConnection.status === 'connecting' || queueConnection.status === 'wait') await readyWithin(queueConnection, 2000)
      await queue.addBulk(jobs.map((job) => ({
        name: job.name,
        data: { data: job.data, ...(job.startedBy ? { startedBy: job.startedBy } : {}) } satisfies Stored,
        opts: { jobId: job.id, ...(job.delayMs && job.delayMs > 0 ? { delay: Math.round(job.delayMs) } : {}) },
      })))
      for (const job of jobs) if (job.startedBy) options.onStatus(job.startedBy, job.id, 'queued')
    },
    work(given, concurrency) {
      if (worker) throw new Error('the job engine already has a worker')
      handlers = given
      worker = new Worker(
        QUEUE,
        async (job: Job<Stored>) => {
          const name = job.name as JobName
          const handler = handlers![name]
          if (!handler) throw new UnrecoverableError(`no handler for job ${name}`)
          const outcome = await runAttempt(handler as never, job.data.data as never, {
            attempt: job.attemptsMade + 1,
            lastAttempt: job.attemptsMade + 1 >= options.policy.attempts,
          }, (status, error) => job.data.startedBy && options.onStatus(job.data.startedBy, job.id!, status, error))
          if (outcome.kind === 'gave-up') throw new UnrecoverableError(outcome.error.message)
          if (outcome.kind === 'retry') throw outcome.error
        },
        {
          connection: new Redis(options.redisUrl, { maxRetriesPerRequest: null }),
          concurrency,
          lockDuration: options.lockDurationMs,
          // stalled jobs are looked for this often (BullMQ's default is 30 s whatever the lock):
          // a job whose lock lapsed is taken again within about twice the lock's duration
          stalledInterval: options.lockDurationMs,
          maxStalledCount: MAX_STALLED,
          settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, options.policy) },
        },
      )
      worker.on('error', (error) => options.onError('job worker: Redis error; reconnecting', error))
      // Failed by BullMQ itself, not by a handler (stalled too often): record it as given up.
      worker.on('failed', (job, error) => {
        if (!job || !/stalled/i.test(error.message)) return
        const handler = handlers![job.name as JobName]
        void handler?.giveUp(job.data.data as never, error).catch((e: unknown) => options.onError('job worker: recording a given-up job failed', e))
      })
    },
    async counts() {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')
      return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 }
    },
    async close() {
      await worker?.close()
      await worker?.disconnect().catch(() => {})
      await queue.close()
      queueConnection.disconnect()
    },
  }
}

/** Resolves when the connection is ready, or after `ms` (the add that follows then fails, and is retried by the dispatcher). */
function readyWithin(connection: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      connection.off('ready', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    connection.once('ready', done)
  })
}
