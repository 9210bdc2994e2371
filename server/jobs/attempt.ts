import type { JobContext, JobHandler, JobName } from './engine.ts'
import { PermanentError } from './engine.ts'

export type AttemptOutcome = { kind: 'done' } | { kind: 'retry'; error: Error } | { kind: 'gave-up'; error: Error }

type Report = (status: 'running' | 'done' | 'failed' | 'queued', error?: string) => void

/**
 * One attempt at a job, the same on both engines: runs the handler; on the
 * last attempt's failure, or a PermanentError, lets the handler record that
 * it gave up (before the engine forgets the job, so the record can't be lost
 * with the process). Reports each step to whoever started the job.
 */
export async function runAttempt<N extends JobName>(handler: JobHandler<N>, data: Parameters<JobHandler<N>['run']>[0], context: JobContext, report: Report): Promise<AttemptOutcome> {
  report('running')
  try {
    await handler.run(data, context)
    report('done')
    return { kind: 'done' }
  } catch (thrown) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown))
    if (error instanceof PermanentError || context.lastAttempt) {
      await handler.giveUp(data, error)
      report('failed', error.message)
      return { kind: 'gave-up', error }
    }
    // back in the queue until the backoff has passed
    report('queued', error.message)
    return { kind: 'retry', error }
  }
}
