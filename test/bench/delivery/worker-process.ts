import { spawn } from 'node:child_process'
import { ROOT } from '../../helpers/server-process.ts'
import { waitUntil } from '../../helpers/wait.ts'

// `npm run worker` as its own process for the delivery benchmark: node with
// tsx loaded (one process, as the server launcher does), in a process group
// of its own so its CPU can be read and nothing of it outlives the run.

/** server/worker.ts logs this once its job engine takes jobs */
const READY = 'worker ready'

export interface WorkerProcess {
  /** leads its own process group */
  pid: number
  output(): string
  stop(timeoutMs?: number): Promise<void>
}

export async function startWorker(env: Record<string, string>, timeoutMs = 90_000): Promise<WorkerProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(key)))
  // BENCH_WORKER_NODE_ARGS ("--cpu-prof --cpu-prof-dir=/tmp/prof"): node's own flags, for a profile (NODE_OPTIONS refuses --cpu-prof)
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/worker.ts'], {
    cwd: ROOT,
    // the worker logs as JSON lines on stderr; `info` is needed for the ready line, and it logs little else
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  let exited = false
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)))
  const exit = new Promise<void>((resolve) => child.once('close', () => ((exited = true), resolve())))
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name)
    } catch {
      // already gone
    }
  }
  const worker: WorkerProcess = {
    pid: child.pid!,
    output: () => output,
    async stop(stopTimeoutMs = 20_000) {
      if (!exited) signal('SIGTERM')
      const timer = setTimeout(() => signal('SIGKILL'), stopTimeoutMs)
      await exit
      clearTimeout(timer)
      signal('SIGKILL') // anything it started
    },
  }
  try {
    await waitUntil(() => {
      if (exited) throw new Error(`the worker exited before it was ready:\n${output}`)
      return output.includes(READY)
    }, { timeoutMs, everyMs: 100, what: () => `the worker to be ready:\n${output}` })
  } catch (error) {
    await worker.stop(1000)
    throw error
  }
  return worker
}
