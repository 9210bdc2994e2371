import { spawn, type ChildProcess } from 'node:child_process'
import { createClient } from 'redis'
import { freePort } from './server-process.ts'
import { waitUntil } from './wait.ts'

/**
 * The one redis-server the tests start themselves, on a port of its own.
 * Tests that stop, restart or freeze Redis use one, never the shared one.
 * By default it keeps nothing on disk (no RDB, no AOF): stopped and started
 * again, it comes back empty, as a production Redis without persistence does
 * after a restart. With `dir`, a snapshot taken there (SAVE) is what it comes
 * back with; with `appendOnly` too, every write is fsynced to an AOF there, so
 * it comes back with everything, as a persistent production Redis does.
 */
export interface PrivateRedis {
  port: number
  url: string
  start(): Promise<void>
  /** SIGKILL, and wait for the process to be gone */
  stop(): Promise<void>
  /** SIGSTOP: its connections stay open but nothing is answered (a frozen host) */
  freeze(): void
  /** SIGCONT after `freeze` */
  thaw(): void
}

export interface PrivateRedisOptions {
  port?: number
  dir?: string
  /** an AOF in `dir`, fsynced on every write */
  appendOnly?: boolean
}

export async function privateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const { port, dir, appendOnly = false } = options
  if (appendOnly && !dir) throw new Error('an append-only redis-server needs a dir for its AOF')
  const chosen = port ?? (await freePort())
  const url = `redis://127.0.0.1:${chosen}`
  let child: ChildProcess | undefined
  const signal = (name: NodeJS.Signals) => {
    if (!child?.pid) throw new Error(`redis-server on ${chosen} is not running`)
    process.kill(child.pid, name)
  }
  return {
    port: chosen,
    url,
    async start() {
      const args = [
        '--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--daemonize', 'no',
        ...(appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ...(dir ? ['--dir', dir] : []),
      ]
      const started = spawn('redis-server', args, { stdio: 'ignore' })
      child = started
      await waitUntil(async () => {
        if (started.exitCode !== null) throw new Error(`redis-server on ${chosen} exited with ${started.exitCode}`)
        const probe = createClient({ url, socket: { reconnectStrategy: false } })
        probe.on('error', () => {})
        if (!(await probe.connect().then(() => true, () => false))) return false
        await probe.close()
        return true
      }, { everyMs: 50, what: `redis-server on ${chosen} to answer` })
    },
    async stop() {
      const running = child
      child = undefined
      if (!running || running.exitCode !== null || running.signalCode !== null) return
      const gone = new Promise((resolve) => running.once('exit', resolve))
      running.kill('SIGKILL')
      await gone
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
  }
}
