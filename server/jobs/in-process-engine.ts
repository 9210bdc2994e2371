import type { JobEngine, JobHandlers, JobName, NewJob, RetryPolicy, StatusListener } from './engine.ts'
import { backoffDelay } from './engine.ts'
import { runAttempt } from './attempt.ts'

// The embedded default's engine: the same handlers and retry policy as
// BullMQ, run inside `npm start`. It keeps nothing itself: the rows the jobs
// are made from stay in the database until done, and the dispatcher adds
// them again when the server restarts, so a restart resumes every delivery,
// escalation and invitation. What it cannot do: share the work with other
// processes (there is one), or survive a crash mid-send without sending that
// one message again (as BullMQ, it sends at least once, with stable ids).

interface Entry {
  job: NewJob
  attemptsMade: number
  timer?: NodeJS.Timeout
}

export interface InProcessEngineOptions {
  policy: RetryPolicy
  onStatus: StatusListener
  onError: (message: string, error?: unknown) => void
}

export function inProcessEngine(options: InProcessEngineOptions): JobEngine {
  /** every job not yet done, by id: adding an id already here is ignored */
  const jobs = new Map<string, Entry>()
  const ready: Entry[] = []
  let handlers: JobHandlers | undefined
  let concurrency = 1
  let active = 0
  let closed = false
  const running = new Set<Promise<void>>()

  function schedule(entry: Entry, delayMs: number) {
    if (delayMs > 0) {
      entry.timer = setTimeout(() => {
        entry.timer = undefined
        ready.push(entry)
        pump()
      }, delayMs)
      entry.timer.unref()
    } else {
      ready.push(entry)
      pump()
    }
  }

  function pump() {
    while (handlers && !closed && active < concurrency && ready.length > 0) {
      const entry = ready.shift()!
      active++
      const run = attempt(entry).finally(() => {
        active--
        running.delete(run)
        pump()
      })
      running.add(run)
    }
  }

  async function attempt(entry: Entry) {
    const { job } = entry
    const handler = handlers![job.name as JobName]
    const report = (status: 'running' | 'done' | 'failed' | 'queued', error?: string) => job.startedBy && options.onStatus(job.startedBy, job.id, status, error)
    try {
      const outcome = await runAttempt(handler as never, job.data as never, {
        attempt: entry.attemptsMade + 1,
        lastAttempt: entry.attemptsMade + 1 >= options.policy.attempts,
      }, report)
      entry.attemptsMade++
      if (outcome.kind === 'retry' && !closed) return schedule(entry, backoffDelay(entry.attemptsMade, options.policy))
      jobs.delete(job.id)
    } catch (error) {
      // recording the give-up failed (the database away): the row is unchanged and the dispatcher brings it back
      options.onError(`job ${job.id}: could not record its failure`, error)
      jobs.delete(job.id)
    }
  }

  return {
    kind: 'in-process',
    async add(job) {
      if (closed || jobs.has(job.id)) return
      const entry: Entry = { job, attemptsMade: 0 }
      jobs.set(job.id, entry)
      if (job.startedBy) options.onStatus(job.startedBy, job.id, 'queued')
      schedule(entry, job.delayMs ?? 0)
    },
    async addMany(many) {
      for (const job of many) await this.add(job)
    },
    work(given, n) {
      if (handlers) throw new Error('the job engine already has a worker')
      handlers = given
      concurrency = n
      pump()
    },
    async counts() {
      let delayed = 0
      for (const entry of jobs.values()) if (entry.timer) delayed++
      return { waiting: ready.length, active, delayed, failed: 0 }
    },
    async close() {
      closed = true
      for (const entry of jobs.values()) if (entry.timer) clearTimeout(entry.timer)
      await Promise.allSettled([...running])
    },
  }
}
