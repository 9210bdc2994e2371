import { spawn, type ChildProcess } from 'node:child_process'
import { createClient } from 'redis'
import { freePort } from './server-process.ts'

/**
 * A redis-server of the test's own, on a port of its own, keeping nothing on
 * disk (no RDB, no AOF): stopped and started again, it comes back empty, as a
 * production Redis without persistence does after a restart. With `dir`, a
 * snapshot taken there (SAVE) is what it comes back with. Tests that stop,
 * restart or freeze Redis use one, never the shared one.
 */
export interface PrivateRedis {
  port: number
  url: string
  start(): Promise<void>
  /** SIGKILL, and wait for the process to be gone */
  stop(): Promise<void>
}

export async function privateRedis(options: { port?: number; dir?: string } = {}): Promise<PrivateRedis> {
  const { port, dir } = options
  const chosen = port ?? (await freePort())
  const url = `redis://127.0.0.1:${chosen}`
  let child: ChildProcess | undefined
  return {
    port: chosen,
    url,
    async start() {
      const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no']
      child = spawn('redis-server', dir ? [...args, '--dir', dir] : args, { stdio: 'ignore' })
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`redis-server on ${chosen} exited with ${child.exitCode}`)
        const probe = createClient({ url, socket: { reconnectStrategy: false } })
        probe.on('error', () => {})
        if (await probe.connect().then(() => true, () => false)) {
          await probe.close()
          return
        }
        if (i > 100) throw new Error(`redis-server on ${chosen} did not start`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async stop() {
      const running = child
      child = undefined
      if (!running || running.exitCode !== null || running.signalCode !== null) return
      const gone = new Promise((resolve) => running.once('exit', resolve))
      running.kill('SIGKILL')
      await gone
    },
  }
}
