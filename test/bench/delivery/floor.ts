import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ROOT } from '../../helpers/server-process.ts'
import { wallNow, type CountingSink } from './counting-sink.ts'
import { summarize, type RunPlan, type RunResult } from './run-result.ts'

// The parent's side of floor-sender.ts: one child process kept for the whole
// scenario (its mailer's pool stays warm between runs, as the worker's does).

export interface FloorRun {
  type: 'run'
  runId: string
  smtpUrl: string
  from: string
  timeoutMs: number
  publicUrl: string
  /** sends in flight, as WORKER_CONCURRENCY */
  concurrency: number
  /** an alert's payload as the outbox trigger stored it for our deliveries */
  payload: unknown
  recipients: string[]
  alerts: number
  /** alerts per second; Infinity: all at t0 */
  alertRate: number
  /** wallNow() of the first alert */
  t0: number
}

export type FloorDone = { type: 'done'; sent: number; errors: number; firstError?: string | undefined; cpuMs: number }

export interface Floor {
  pid: number
  run(plan: Omit<FloorRun, 'type'>, timeoutMs: number): Promise<FloorDone>
  close(): Promise<void>
}

export function startFloor(): Floor {
  const child: ChildProcess = fork(fileURLToPath(new URL('./floor-sender.ts', import.meta.url)), {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    pid: child.pid!,
    run(plan, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`the floor did not finish within ${(timeoutMs / 1000).toFixed(0)} s`)), timeoutMs)
        const onMessage = (message: FloorDone | { type: 'error'; message: string }) =>
          message.type === 'done' ? finish(undefined, message) : finish(new Error(`the floor failed: ${message.message}`))
        const onExit = () => finish(new Error('the floor process exited'))
        const finish = (error?: Error, done?: FloorDone) => {
          clearTimeout(timer)
          child.off('message', onMessage)
          child.off('exit', onExit)
          if (error) reject(error)
          else resolve(done!)
        }
        child.on('message', onMessage)
        child.once('exit', onExit)
        // Infinity does not survive JSON: 0 says "all at once" over the wire
        child.send({ type: 'run', ...plan, alertRate: Number.isFinite(plan.alertRate) ? plan.alertRate : 0 })
      })
    },
    async close() {
      if (child.exitCode === null && child.connected) child.send({ type: 'close' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * One run of the floor against the counting sink: the same plan as ours
 * (alerts due at t0 + i / rate, one mail per recipient each), latency from
 * each alert's due time to the mail's arrival.
 */
export async function runFloor(input: {
  floor: Floor
  sink: CountingSink
  plan: RunPlan
  settings: Pick<FloorRun, 'smtpUrl' | 'from' | 'timeoutMs' | 'publicUrl' | 'concurrency'>
  payload: unknown
  recipients: string[]
  timeoutMs: number
}): Promise<RunResult> {
  const { floor, sink, plan } = input
  const expected = plan.alerts * input.recipients.length
  sink.reset()
  const self = process.cpuUsage()
  const t0 = wallNow() + 50
  const done = await floor.run({ ...input.settings, ...plan, payload: input.payload, recipients: input.recipients, t0 }, input.timeoutMs)
  if (done.errors) throw new Error(`the floor: ${done.errors} sends failed (first: ${done.firstError})`)
  await sink.waitFor(expected, 10_000)
  const sinkCpu = process.cpuUsage(self)
  const dueOf = (alert: number) => (Number.isFinite(plan.alertRate) ? t0 + (alert * 1000) / plan.alertRate : t0)
  const pattern = new RegExp(`^<floor-${plan.runId}-(\\d+)-\\d+@`)
  const result = summarize({
    arrivals: sink.arrivals,
    expected,
    t0,
    scheduledOf: (messageId) => {
      const alert = pattern.exec(messageId)?.[1]
      return alert === undefined ? undefined : dueOf(Number(alert))
    },
  })
  result.cpu = { 'sender CPU': done.cpuMs / result.mails, 'sink CPU': (sinkCpu.user + sinkCpu.system) / 1000 / result.mails }
  return result
}
