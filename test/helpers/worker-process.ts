import { spawn } from 'node:child_process'
import { ROOT, START_TIMEOUT, type Exit } from './server-process.ts'
import { waitUntil } from './wait.ts'

// Real worker processes, as `npm run worker` starts them (server/worker.ts),
// launched the way server-process.ts launches servers: tsx loaded into node
// (one process, so a signal reaches the worker itself), in a process group
// of its own, with only the configuration given.

/** what the worker logs once its job engine takes jobs */
const READY_LINE = 'worker ready'

export interface WorkerProcess {
  pid: number
  /** stdout and stderr as they came (the worker logs JSON lines to stderr) */
  output(): string
  exit(): Exit | undefined
  exited: Promise<Exit>
  describe(): string
  /** resolves once it logged that it takes jobs; fails at once if it exits */
  ready(timeoutMs?: number): Promise<void>
  /** the signal (SIGTERM unless said) to its process group, and its exit */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
  /** SIGKILL to the whole process group (kill -9: nothing of it runs after), and wait for it to be gone */
  kill(): Promise<void>
}

const running = new Set<WorkerProcess>()

export async function launchWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(key)))
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/worker.ts'], {
    cwd: ROOT,
    env: { ...inherited, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  let exit: Exit | undefined
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve((exit = { code, signal })))
  })
  exited.catch(() => {})
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal)
    } catch {
      // already gone
    }
  }

  const worker: WorkerProcess = {
    pid: child.pid!,
    output: () => output,
    exit: () => exit,
    exited,
    describe() {
      const state = exit ? `exited with ${exit.code ?? exit.signal}` : 'still running'
      return `worker ${child.pid} ${state}\n--- output\n${output.slice(-3000)}`
    },
    ready(timeoutMs = START_TIMEOUT) {
      return waitUntil(() => {
        if (exit) throw new Error(`the worker exited before it was ready: ${worker.describe()}`)
        return output.includes(READY_LINE)
      }, { timeoutMs, everyMs: 50, what: () => `the worker to be ready: ${worker.describe()}` })
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (!exit) signalGroup(signal)
      await waitUntil(() => exit !== undefined, { timeoutMs, what: () => `the worker to exit: ${worker.describe()}` })
      running.delete(worker)
      return exited
    },
    async kill() {
      if (!exit) signalGroup('SIGKILL')
      await exited.catch(() => {})
      running.delete(worker)
    },
  }
  running.add(worker)
  exited.then(() => running.delete(worker), () => running.delete(worker))
  return worker
}

/** SIGKILLs every worker this file launched that still runs (for an afterAll). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.kill()))
}
