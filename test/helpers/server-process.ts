import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

// Real server processes: `tsx server/main.ts` on the sources, or what
// `npm start` runs (`node server/start.mjs`, the prebuilt server bundle).

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

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

export interface ServerProcess {
  url: string
  child: ChildProcess
  output(): string
  /** polls /api/health until 200 */
  healthy(timeoutMs?: number): Promise<void>
  /** SIGTERM and wait for the exit code */
  stop(): Promise<number | null>
  /** SIGKILL the whole process group (tsx runs the server as its child) */
  kill(): void
}

export interface SpawnOptions {
  /**
   * 'tsx' (the default): `tsx server/main.ts`, compiling the sources as they
   * load. 'npm start': `node server/start.mjs`, exactly what `npm start` runs
   * (the server bundle, rebuilt first if a source is newer).
   */
  via?: 'tsx' | 'npm start'
}

/** Starts the server with only the given configuration (nothing inherited from the test's environment but PATH, HOME, TMPDIR, LANG). */
export async function spawnServer(env: Record<string, string>, options: SpawnOptions = {}): Promise<ServerProcess> {
  const port = await freePort()
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(key)))
  // tsx's own CLI is a second process that relays signals and SIGKILLs the
  // server when it has not acknowledged one within 30 ms (a loaded machine):
  // load tsx into node instead, one process, so SIGTERM reaches only the server
  const [command, args]: [string, string[]] =
    options.via === 'npm start' ? [process.execPath, ['server/start.mjs']] : [process.execPath, ['--import', 'tsx', 'server/main.ts']]
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    child,
    output: () => output,
    async healthy(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`)
        const ok = await fetch(`${url}/api/health`).then((r) => r.ok, () => false)
        if (ok) return
        await new Promise((r) => setTimeout(r, 250))
      }
      throw new Error(`server not healthy after ${timeoutMs} ms:\n${output}`)
    },
    async stop() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM')
      return exited
    },
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    },
  }
}

/** Signs in over HTTP; returns the session key. */
export async function signIn(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  if (!response.ok) throw new Error(`sign-in of ${username} failed: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { session_key: string }).session_key
}
