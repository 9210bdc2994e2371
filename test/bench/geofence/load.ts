import { performance } from 'node:perf_hooks'
import { percentile } from '../harness/stats.ts'

/** One measured run: completed operations per second and their latencies. */
export interface LoadResult {
  /** completed operations per second of wall time */
  rate: number
  p50: number
  p99: number
  completed: number
  errors: number
  /** the first error seen, to name it in the log */
  firstError?: string
  /** CPU per completed operation (ms): of the load generator or bare-SQL client (this process) … */
  clientCpuMs?: number
  /** … of the server's process group … */
  appCpuMs?: number
  /** … and of the PostgreSQL backends serving the run */
  dbCpuMs?: number
}

export interface ClosedLoopOptions {
  /** operations in flight at once (each worker starts the next as soon as its last completes) */
  concurrency: number
  /** stop after this many operations… */
  amount?: number
  /** …or after this long, whichever comes first */
  durationMs?: number
}

/**
 * A closed-loop load: `concurrency` workers each run `operation` back to back
 * until the shared budget is spent. The same shape as autocannon's fixed
 * connections, so a bare-SQL run and an HTTP run with equal concurrency are
 * comparable. Always bounded: without `amount` it needs `durationMs`.
 */
export async function closedLoop(options: ClosedLoopOptions, operation: (index: number) => Promise<void>): Promise<LoadResult> {
  if (options.amount === undefined && options.durationMs === undefined) throw new Error('closedLoop needs an amount or a duration')
  const samples: number[] = []
  let started = 0
  let errors = 0
  let firstError: string | undefined
  const begin = performance.now()
  const deadline = options.durationMs === undefined ? Infinity : begin + options.durationMs
  const more = () => (options.amount === undefined || started < options.amount) && performance.now() < deadline
  async function worker() {
    while (more()) {
      const index = started++
      const t0 = performance.now()
      try {
        await operation(index)
        samples.push(performance.now() - t0)
      } catch (error) {
        errors++
        firstError ??= (error as Error).message
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const seconds = (performance.now() - begin) / 1000
  return { rate: samples.length / seconds, p50: percentile(samples, 50), p99: percentile(samples, 99), completed: samples.length, errors, firstError }
}

export interface OpenLoopOptions {
  /** operations per second, started on schedule whatever the earlier ones are doing */
  rate: number
  /** stop scheduling after this many operations… */
  amount?: number
  /** …or after this long (the operations due within it) */
  durationMs?: number
}

/**
 * An open-loop load: operation i is due at i / rate seconds and is started
 * then (or at once, if this thread was busy), and its latency runs from when
 * it was DUE, not from when it was sent. A closed loop lets a slow answer
 * delay the next request, so the queue a user would meet at that rate never
 * shows in its latencies; here it does (coordinated omission).
 */
export async function openLoop(options: OpenLoopOptions, operation: (index: number) => Promise<void>): Promise<LoadResult> {
  if (!(options.rate > 0)) throw new Error(`openLoop needs a positive rate (got ${options.rate})`)
  const total = options.amount ?? Math.max(1, Math.round((options.rate * (options.durationMs ?? 10_000)) / 1000))
  const samples: number[] = []
  let errors = 0
  let firstError: string | undefined
  const begin = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = begin + (i * 1000) / options.rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(
      operation(i).then(
        () => void samples.push(performance.now() - due),
        (error: unknown) => {
          errors++
          firstError ??= (error as Error).message
        },
      ),
    )
  }
  await Promise.all(inFlight)
  const seconds = (performance.now() - begin) / 1000
  return { rate: samples.length / seconds, p50: percentile(samples, 50), p99: percentile(samples, 99), completed: samples.length, errors, firstError }
}
