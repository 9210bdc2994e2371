import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { signIn } from './sign-in.ts'
import { waitUntil } from './wait.ts'

// The one launcher of real server processes: `node --import tsx
// server/main.ts` on the sources, or what `npm start` runs (`node
// server/start.mjs`, the prebuilt server bundle).

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** a first start runs initdb and loads PostGIS: tens of seconds on a busy 2-core machine */
export const START_TIMEOUT = 90_000

/** logged once the server listens: everything it printed while starting is on stdout before it */
export const LISTENING_LINE = 'dashboard at http://'

/** the first start's announcement; the password in it is hidden from failure messages */
const PASSWORD_LINE = /(created user "admin" with password: )\S+/g

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface Health {
  status: string
  database: { ok: boolean; kind: string }
  notifications?: { ok: boolean; kind: string; detail?: string }
}

export interface ServerProcess {
  url: string
  port: number
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** stdout and stderr as they came */
  output(): string
  /** how it ended, once it has */
  exit(): Exit | undefined
  exited: Promise<Exit>
  /** its state and output for a failure message, the first admin's password hidden */
  describe(): string
  /** polls GET /api/health until 200 (its body); fails at once if the process exits */
  healthy(timeoutMs?: number): Promise<Health>
  /**
   * healthy, and following its notification stream: a socket that joins
   * while the server is still reaching Redis is closed (1012) once it gets
   * there, so a test whose clients don't reconnect waits for this first
   */
  following(timeoutMs?: number): Promise<Health>
  /** resolves once stdout holds `text` */
  printed(text: string, timeoutMs?: number): Promise<void>
  /** resolves with the exit, or fails with its output after `timeoutMs` */
  waitForExit(timeoutMs: number): Promise<Exit>
  /** the signal (SIGTERM unless said) to the process group, and its exit */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
  /** SIGKILL to the whole process group, and wait for it to be gone */
  kill(): Promise<void>
}

export interface LaunchOptions {
  /**
   * 'tsx' (the default): `node --import tsx server/main.ts`, compiling the
   * sources as they load. 'npm start': `node server/start.mjs`, exactly what
   * `npm start` runs (the server bundle, rebuilt first if a source is newer).
   */
  via?: 'tsx' | 'npm start'
}

/** Every process launched from this test file, so none outlives it. */
const running = new Set<ServerProcess>()

/**
 * Starts the server with only the given configuration (nothing inherited from
 * the test's environment but PATH, HOME, TMPDIR, LANG) on a free loopback
 * port, in a process group of its own. `env` may set PORT itself (a bad one,
 * to see it refused).
 */
export async function launchServer(env: Record<string, string>, options: LaunchOptions = {}): Promise<ServerProcess> {
  const port = await freePort()
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(key)))
  // tsx's own CLI is a second process that relays signals and SIGKILLs the
  // server when it has not acknowledged one within 30 ms (a loaded machine):
  // load tsx into node instead, one process, so a signal reaches only the server
  const args = options.via === 'npm start' ? ['server/start.mjs'] : ['--import', 'tsx', 'server/main.ts']
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so cleanup reaches whatever it starts
  })
  let stdout = ''
  let stderr = ''
  let output = ''
  let exit: Exit | undefined
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => ((stdout += chunk), (output += chunk)))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => ((stderr += chunk), (output += chunk)))
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve((exit = { code, signal })))
  })
  exited.catch(() => {})
  const url = `http://127.0.0.1:${port}`

  const server: ServerProcess = {
    url,
    port,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => output,
    exit: () => exit,
    exited,
    describe() {
      const state = exit ? `exited with ${exit.code ?? exit.signal}` : 'still running'
      const hidden = (text: string) => text.replace(PASSWORD_LINE, '$1[hidden]').slice(-3000)
      return `server ${args.join(' ')} on port ${port} ${state}\n--- stderr\n${hidden(stderr)}\n--- stdout\n${hidden(stdout)}`
    },
    async healthy(timeoutMs = START_TIMEOUT) {
      let health: Health | undefined
      await waitUntil(async () => {
        if (exit) throw new Error(`the server exited before it was healthy: ${server.describe()}`)
        const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
        if (response?.status === 200) health = (await response.json()) as Health
        return health !== undefined
      }, { timeoutMs, what: () => `a healthy answer: ${server.describe()}`, everyMs: 250 })
      return health!
    },
    async following(timeoutMs = START_TIMEOUT) {
      let health: Health | undefined
      await waitUntil(async () => (health = await server.healthy(timeoutMs)).notifications?.ok === true, {
        timeoutMs, what: () => `the notification stream to be up: ${server.describe()}`, everyMs: 250,
      })
      return health!
    },
    printed(text, timeoutMs = 10_000) {
      return waitUntil(() => stdout.includes(text), { timeoutMs, what: () => `"${text}" on stdout: ${server.describe()}` })
    },
    async waitForExit(timeoutMs) {
      await waitUntil(() => exit !== undefined, { timeoutMs, what: () => `the process to exit: ${server.describe()}` })
      return exited
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (!exit) signalGroup(child, signal)
      const ended = await server.waitForExit(timeoutMs)
      running.delete(server)
      return ended
    },
    async kill() {
      if (!exit) signalGroup(child, 'SIGKILL')
      await exited.catch(() => {}) // SIGKILL cannot be caught: it ends (or it never started)
      running.delete(server)
    },
  }
  running.add(server)
  exited.then(() => running.delete(server), () => running.delete(server))
  return server
}

/** SIGKILLs every server this file launched that still runs (for an afterAll: a failed test may leave one). */
export async function killAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.kill()))
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal)
  } catch {
    // already gone
  }
}

// test/bench still calls these by their old names (it is not edited along
// with the tests): the same launcher, and the session key from the one sign-in
/** @deprecated use launchServer */
export const spawnServer = launchServer
/** @deprecated use signIn from ./sign-in.ts */
export const signInKey = async (baseUrl: string, username: string, password: string): Promise<string> => (await signIn(baseUrl, username, password)).key
export { signInKey as signIn }
