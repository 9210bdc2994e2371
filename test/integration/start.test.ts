import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../helpers/postgres.ts'
import { freePort } from '../helpers/server-process.ts'

// `npm start` as a user runs it: real server processes on real ports, on the
// embedded default (a fresh data folder) and on PostgreSQL (a fresh database).

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** the first PGlite start runs initdb and loads PostGIS: tens of seconds on a busy 2-core machine */
const START_TIMEOUT = 90_000
const PASSWORD_LINE = /created user "admin" with password: (\S+)/g
/** logged once the server listens; everything it printed while starting is before it on stdout */
const LISTENING_LINE = 'dashboard at http://'

const CONFIG_VARIABLES = [
  'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'DATA_DIR', 'ALLOWED_ORIGINS', 'SESSION_IDLE_SECONDS', 'SESSION_ABSOLUTE_SECONDS',
  'ADMIN_PASSWORD', 'LOG_LEVEL', 'BODY_LIMIT_BYTES', 'LOGIN_RATE_LIMIT_PER_MINUTE', 'DB_POOL_SIZE', 'TRUST_PROXY', 'COOKIE_SECURE',
]

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

class ServerProcess {
  stdout = ''
  stderr = ''
  exitInfo: Exit | undefined
  readonly exited: Promise<Exit>

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
    /** the first server of a describe outlives its tests (afterAll stops it); any other is stopped after its test */
    readonly keep: boolean,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk))
    this.exited = new Promise((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal }
        resolve(this.exitInfo)
      })
    })
    this.exited.catch(() => {})
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  /** kill the whole process group: whatever the server started goes with it */
  kill() {
    try {
      process.kill(-this.child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

const spawned: ServerProcess[] = []

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of CONFIG_VARIABLES) delete env[key]
  return { ...env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...extra }
}

function startServer(port: number, env: Record<string, string>, keep = false): ServerProcess {
  // what `npm start` runs: the launcher and the prebuilt server bundle (server/start.mjs)
  const child = spawn(process.execPath, ['server/start.mjs'], {
    cwd: ROOT,
    env: childEnv({ PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so cleanup reaches whatever it starts
  })
  const server = new ServerProcess(child, port, keep)
  spawned.push(server)
  return server
}

/** Kills these processes (SIGKILL to their group) and forgets them. */
async function stop(servers: ServerProcess[]) {
  const all = [...servers]
  for (const server of all) spawned.splice(spawned.indexOf(server), 1)
  for (const server of all) server.kill()
  await Promise.all(all.map((server) => Promise.race([server.exited.catch(() => {}), sleep(5000)])))
}

afterEach(async () => {
  await stop(spawned.filter((server) => !server.keep))
})

afterAll(async () => {
  await stop(spawned)
})


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function describeProcess(server: ServerProcess): string {
  const exit = server.exitInfo ? `exited with ${server.exitInfo.code ?? server.exitInfo.signal}` : 'still running'
  // stdout may hold the generated admin password: show only the log lines
  const stdout = server.stdout.replace(PASSWORD_LINE, 'created user "admin" with password: [hidden]')
  return `server on port ${server.port} ${exit}\n--- stderr\n${server.stderr.slice(-3000)}\n--- stdout\n${stdout.slice(-3000)}`
}

interface Health {
  status: string
  database: { ok: boolean; kind: string }
}

/** Polls GET /api/health until it answers 200; fails early if the process exits. */
async function waitForHealth(server: ServerProcess, timeout = START_TIMEOUT): Promise<Health> {
  const deadline = Date.now() + timeout
  while (Date.now() < deadline) {
    if (server.exitInfo) throw new Error(`the server exited before it was healthy: ${describeProcess(server)}`)
    try {
      const response = await fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(5000) })
      if (response.status === 200) return (await response.json()) as Health
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  throw new Error(`no healthy answer within ${timeout} ms: ${describeProcess(server)}`)
}

async function waitForOutput(server: ServerProcess, text: string, timeout = 10_000) {
  const deadline = Date.now() + timeout
  while (!server.stdout.includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" never appeared on stdout: ${describeProcess(server)}`)
    await sleep(50)
  }
}

async function waitForExit(server: ServerProcess, timeout: number): Promise<Exit> {
  const exit = await Promise.race([server.exited, sleep(timeout).then(() => undefined)])
  if (!exit) throw new Error(`the process did not exit within ${timeout} ms: ${describeProcess(server)}`)
  return exit
}

function login(server: ServerProcess, username: string, password: string) {
  return fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
}

/** The password the first start printed, checking it was printed exactly once. */
function announcedPassword(server: ServerProcess): string {
  const matches = [...server.stdout.matchAll(PASSWORD_LINE)]
  expect(matches.length, 'number of "created user" lines').toBe(1)
  const password = matches[0]![1]!
  expect(password.length).toBeGreaterThanOrEqual(12)
  expect(server.stdout.split(password).length - 1, 'times the password appears on stdout').toBe(1)
  expect(server.stderr.includes(password), 'the password appears on stderr').toBe(false)
  return password
}

async function expectLoginWorks(server: ServerProcess, password: string) {
  const response = await login(server, 'admin', password)
  expect(response.status).toBe(200)
  const body = (await response.json()) as { session_key: unknown; user: { username: string; role: string } }
  expect(typeof body.session_key).toBe('string')
  expect((body.session_key as string).length).toBeGreaterThanOrEqual(22) // ≥128 bits, however encoded
  expect(body.user).toMatchObject({ username: 'admin', role: 'admin' })
  // and the key is a working session
  const me = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${body.session_key as string}` } })
  expect(me.status).toBe(200)
}

async function expectGracefulStop(server: ServerProcess) {
  const started = Date.now()
  server.child.kill('SIGTERM')
  const exit = await waitForExit(server, 20_000)
  const took = Date.now() - started
  expect(exit, describeProcess(server)).toEqual({ code: 0, signal: null })
  // the forced exit fires at 15 s (with code 1): a graceful stop is well under it
  expect(took).toBeLessThan(10_000)
}

describe('npm start on the embedded default (PGlite in DATA_DIR)', () => {
  let dataDir: string
  let first: ServerProcess
  let password: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'start-test-'))
  })
  afterAll(async () => {
    await stop(spawned)
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('starts on a fresh folder and answers GET /api/health with the embedded database', async () => {
    first = startServer(await freePort(), { DATA_DIR: dataDir }, true)
    const health = await waitForHealth(first)
    expect(health.status).toBe('ok')
    expect(health.database).toEqual({ ok: true, kind: 'pglite' })
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true)
  }, START_TIMEOUT + 10_000)

  it('prints the first admin password once, and it signs in', async () => {
    await waitForOutput(first, LISTENING_LINE)
    password = announcedPassword(first)
    await expectLoginWorks(first, password)
  })

  it('refuses a second server on the same folder while the first runs', async () => {
    const second = startServer(await freePort(), { DATA_DIR: dataDir })
    const exit = await waitForExit(second, 60_000)
    expect(exit.code, describeProcess(second)).not.toBe(0)
    expect(exit.code).not.toBeNull()
    const output = second.stderr + second.stdout
    expect(output).toMatch(/in use/)
    expect(output).toContain(dataDir)
    expect(second.stdout).not.toMatch(/created user/)
    // the first one is unharmed and still owns the folder
    expect((await waitForHealth(first, 5000)).database.kind).toBe('pglite')
    expect(existsSync(join(dataDir, 'owner.lock'))).toBe(true)
    expect((await login(first, 'admin', password)).status).toBe(200)
  }, 70_000)

  it('says so without a stack trace', async () => {
    const second = startServer(await freePort(), { DATA_DIR: dataDir })
    const exit = await waitForExit(second, 60_000)
    expect(exit.code).not.toBe(0)
    expect(second.stderr).toMatch(/in use/)
    expect(second.stderr).not.toMatch(/^\s+at /m)
  }, 70_000)

  it('stops promptly with exit code 0 on SIGTERM and releases the folder', async () => {
    await expectGracefulStop(first)
    expect(existsSync(join(dataDir, 'owner.lock')), 'owner.lock left behind').toBe(false)
    expect(existsSync(join(dataDir, 'admin.sock')), 'admin.sock left behind').toBe(false)
  }, 30_000)

  it('restarts on the same folder without a new password, and the old one still works', async () => {
    const again = startServer(await freePort(), { DATA_DIR: dataDir })
    const health = await waitForHealth(again)
    expect(health.database).toEqual({ ok: true, kind: 'pglite' })
    await waitForOutput(again, LISTENING_LINE)
    expect(again.stdout).not.toMatch(/created user "admin"/)
    expect(again.stdout.includes(password), 'the old password was printed again').toBe(false)
    await expectLoginWorks(again, password)
    await expectGracefulStop(again)
  }, START_TIMEOUT + 30_000)

  it('starts again after a crash left its lock and socket behind', async () => {
    const crashed = startServer(await freePort(), { DATA_DIR: dataDir })
    await waitForHealth(crashed)
    crashed.kill() // SIGKILL: no cleanup runs
    await waitForExit(crashed, 10_000)
    expect(existsSync(join(dataDir, 'owner.lock')), 'the crash should leave owner.lock behind').toBe(true)

    const after = startServer(await freePort(), { DATA_DIR: dataDir })
    expect((await waitForHealth(after)).database).toEqual({ ok: true, kind: 'pglite' })
    await waitForOutput(after, LISTENING_LINE)
    expect(after.stdout).not.toMatch(/created user "admin"/)
    await expectLoginWorks(after, password)
    await expectGracefulStop(after)
  }, 2 * START_TIMEOUT)
})

describe('npm start with DATABASE_URL (PostgreSQL + PostGIS)', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let dataDir: string
  let first: ServerProcess
  let password: string

  beforeAll(async () => {
    database = await createDatabase()
    dataDir = await mkdtemp(join(tmpdir(), 'start-test-pg-'))
  })
  afterAll(async () => {
    await stop(spawned)
    await database?.drop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('starts on a fresh database and answers GET /api/health with PostgreSQL', async () => {
    first = startServer(await freePort(), { DATABASE_URL: database.url, DATA_DIR: dataDir }, true)
    const health = await waitForHealth(first)
    expect(health.status).toBe('ok')
    expect(health.database).toEqual({ ok: true, kind: 'postgres' })
    // the embedded database is not opened: the data folder stays empty
    expect(await readdir(dataDir)).toEqual([])
  }, START_TIMEOUT + 10_000)

  it('prints the first admin password once, and it signs in', async () => {
    await waitForOutput(first, LISTENING_LINE)
    password = announcedPassword(first)
    await expectLoginWorks(first, password)
  })

  it('runs a second instance on the same database next to the first (the scale-out path)', async () => {
    const second = startServer(await freePort(), { DATABASE_URL: database.url, DATA_DIR: dataDir })
    expect((await waitForHealth(second)).database).toEqual({ ok: true, kind: 'postgres' })
    await waitForOutput(second, LISTENING_LINE)
    expect(second.stdout).not.toMatch(/created user "admin"/)
    await expectLoginWorks(second, password)
    await expectGracefulStop(second)
    expect((await waitForHealth(first, 5000)).database.kind).toBe('postgres')
  }, START_TIMEOUT + 30_000)

  it('stops promptly with exit code 0 on SIGTERM', async () => {
    await expectGracefulStop(first)
  }, 30_000)

  it('restarts without a new password, and the old one still works', async () => {
    const again = startServer(await freePort(), { DATABASE_URL: database.url, DATA_DIR: dataDir })
    expect((await waitForHealth(again)).database).toEqual({ ok: true, kind: 'postgres' })
    await waitForOutput(again, LISTENING_LINE)
    expect(again.stdout).not.toMatch(/created user "admin"/)
    expect(again.stdout.includes(password), 'the old password was printed again').toBe(false)
    await expectLoginWorks(again, password)
    await expectGracefulStop(again)
    expect(await readdir(dataDir)).toEqual([])
  }, START_TIMEOUT + 30_000)
})

