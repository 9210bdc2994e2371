import type { UserJobKind } from '../../contracts/jobs.ts'

// The job engine, as the rest of the server sees it: BullMQ on Redis when
// REDIS_URL is set (bullmq-engine.ts), else a small in-process runner for the
// embedded default (in-process-engine.ts). Both run the same handlers with the
// same retry policy. Neither is the record of what must be done: that is in
// the database (deliveries, escalations, invitations), and the dispatcher
// (dispatcher.ts) makes jobs from it, with ids derived from the rows, so a
// row seen twice never makes two jobs.

export type JobName = 'deliver' | 'escalate' | 'invite'

export interface JobData {
  /** a batch: the deliveries of one notification on one channel, or one delivery retried by hand */
  deliver: { deliveryIds: number[] }
  escalate: { alertId: number }
  invite: { invitationId: number; send: number }
}

/** A job a user started reports its status to that user's sockets (contracts/jobs.ts). */
export interface StartedBy {
  userId: number
  kind: UserJobKind
  subjectId: number
}

export interface NewJob<N extends JobName = JobName> {
  name: N
  /** stable: a second add with the same id while the job exists is ignored */
  id: string
  data: JobData[N]
  /** run no sooner than this many ms from now */
  delayMs?: number
  startedBy?: StartedBy
}

export interface JobContext {
  /** 1 for the first attempt */
  attempt: number
  /** this attempt is the last: failing it gives the job up */
  lastAttempt: boolean
}

export interface JobHandler<N extends JobName> {
  run(data: JobData[N], context: JobContext): Promise<void>
  /** after the last attempt failed, or a PermanentError: record why (the delivery becomes `failed`) */
  giveUp(data: JobData[N], error: Error): Promise<void>
}

export type JobHandlers = { [N in JobName]: JobHandler<N> }

/** A failure that retrying cannot fix (no mail server configured, an address refused): the job is given up at once. */
export class PermanentError extends Error {}

export interface RetryPolicy {
  attempts: number
  /** the first retry waits about this long; each next one twice as long, up to `maxBackoffMs` */
  backoffMs: number
  maxBackoffMs: number
}

/**
 * Exponential backoff with full jitter: a random wait up to the exponential
 * bound, so the deliveries that failed together (the mail server was down)
 * do not all come back at the same instant.
 */
export function backoffDelay(attemptsMade: number, policy: RetryPolicy, random = Math.random): number {
  const bound = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attemptsMade - 1))
  return Math.round(bound / 2 + (random() * bound) / 2)
}

export interface JobEngine {
  readonly kind: 'bullmq' | 'in-process'
  add(job: NewJob): Promise<void>
  /** several at once (one round trip to Redis) */
  addMany(jobs: NewJob[]): Promise<void>
  /** starts running jobs with these handlers (the worker's half); once */
  work(handlers: JobHandlers, concurrency: number): void
  /** jobs waiting or running (health, tests) */
  counts(): Promise<{ waiting: number; active: number; delayed: number; failed: number }>
  /** stops taking jobs and waits for the running ones */
  close(): Promise<void>
}

/** Published for each step of a job a user started (job-status.ts). */
export type StatusListener = (startedBy: StartedBy, jobId: string, status: 'queued' | 'running' | 'done' | 'failed', error?: string) => void
