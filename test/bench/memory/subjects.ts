import { fork, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { capture, killGroup } from '../fan-out/processes.ts'
import { compiled } from '../harness/compiled.ts'
import { freePort, ROOT, signIn, spawnServer } from '../../helpers/server-process.ts'
import { stopServer } from '../geofence/cleanup.ts'
import type { IdleClientsConfig, IdleCommand, IdleKind, IdleReport } from './idle-clients.ts'
import { viewerSessions } from './sessions.ts'

// The processes of the idle-socket benchmark: the subject's server (ours, or
// a peer from idle-server.ts), always a fresh process, and the client
// process. Each runs in a process group of its own, so it can be killed with
// whatever it started, and stops by itself after MAX_LIFETIME_MS.

const HERE = join(ROOT, 'test', 'bench', 'memory')
export const MAX_LIFETIME_MS = 30 * 60_000
const ADMIN_PASSWORD = 'idle-sockets-admin-password'

export interface Subject {
  url: string
  /** the node process that serves (the one to read and signal) */
  pid: number
  /** ours: one session key per `socketsPerSession` sockets */
  sessionKeys?: string[]
  output(): string
  stop(): Promise<void>
}

/**
 * Our server as `npm start` runs it on PostgreSQL and Redis, with its default
 * socket quotas (a session's 10 sockets are within them), and `sessions`
 * viewers signed in. `env` carries the heap probe.
 */
export async function startOurs(databaseUrl: string, redisUrl: string, sessions: number, label: string, env: Record<string, string>): Promise<Subject> {
  // the bundle `npm start` runs: under tsx every named function also carries esbuild's keepNames helper
  const server = await spawnServer({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, ADMIN_PASSWORD, LOG_LEVEL: 'warn', ...env }, { via: 'npm start' })
  try {
    await server.following()
    // signed in once over HTTP as the first admin: the sign-in path has run, as on a real server
    await signIn(server.url, 'admin', ADMIN_PASSWORD)
    const sessionKeys = await viewerSessions(databaseUrl, sessions, label)
    return { url: server.url, pid: server.child.pid!, sessionKeys, output: () => server.output(), stop: () => stopServer(server) }
  } catch (error) {
    await server.kill()
    throw error
  }
}

/** idle-server.ts compiled, as a plain node process (as ours runs its bundle), `nodeFlags` first (the heap probe). */
export async function startPeer(kind: Exclude<IdleKind, 'ours'>, nodeFlags: string[], env: Record<string, string>): Promise<Subject> {
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeFlags, compiled(join(HERE, 'idle-server.ts'))], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), SUBJECT: kind, MAX_LIFETIME_MS: String(MAX_LIFETIME_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const output = capture(child)
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const peer: Subject = {
    url,
    pid: child.pid!,
    output,
    async stop() {
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      killGroup(child, 'SIGKILL')
    },
  }
  const deadline = Date.now() + 30_000
  while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await peer.stop()
      throw new Error(`${kind} server did not start:\n${output()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return peer
}

export interface IdleClients {
  /** opens sockets until `total` are open (fails if any could not open): how long that took, and how many open sockets the server has closed so far */
  grow(total: number, timeoutMs: number): Promise<{ ms: number; closed: number; closedWith?: string }>
  close(): Promise<void>
}

export function startClients(config: Omit<IdleClientsConfig, 'maxLifetimeMs'>): IdleClients {
  const child = fork(join(HERE, 'idle-clients.ts'), [JSON.stringify({ ...config, maxLifetimeMs: MAX_LIFETIME_MS } satisfies IdleClientsConfig)], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  })
  const output = capture(child)
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const send = (command: IdleCommand) => child.send(command)
  return {
    async grow(total, timeoutMs) {
      const report = await new Promise<IdleReport>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer from the clients within ${timeoutMs} ms:\n${output()}`)), timeoutMs)
        const onExit = () => reject(new Error(`the clients exited:\n${output()}`))
        child.once('exit', onExit)
        child.once('message', (message: IdleReport) => {
          clearTimeout(timer)
          child.off('exit', onExit)
          resolve(message)
        })
        send({ cmd: 'connect', total, concurrency: 100 })
      })
      if (report.type === 'error') throw new Error(`clients: ${report.message}`)
      if (report.open !== total) throw new Error(`${report.open} of ${total} sockets open (${report.failed} failed: ${report.error}; ${report.closed} closed after opening, the first with ${report.closedWith})`)
      return { ms: report.ms, closed: report.closed, closedWith: report.closedWith }
    },
    async close() {
      if (child.connected) send({ cmd: 'close' })
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000)
      await gone
      clearTimeout(timer)
      killGroup(child, 'SIGKILL')
    },
  }
}
