import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../../helpers/postgres.ts'
import { killAllServers, launchServer, LISTENING_LINE, START_TIMEOUT, type ServerProcess } from '../../helpers/server-process.ts'
import { attemptSignIn } from '../../helpers/sign-in.ts'

// `npm start` as a user runs it: real server processes on real ports, on the
// embedded default (a fresh data folder) and on PostgreSQL (a fresh database).

const PASSWORD_LINE = /created user "admin" with password: (\S+)/g

/** servers a test starts for itself; the first of a describe outlives its tests and stops in one of them */
const oneTest: ServerProcess[] = []

/** what `npm start` runs: the launcher and the prebuilt server bundle (server/start.mjs) */
async function startServer(env: Record<string, string>, keep = false): Promise<ServerProcess> {
  const server = await launchServer({ LOG_LEVEL: 'info', ...env }, { via: 'npm start' })
  if (!keep) oneTest.push(server)
  return server
}

afterEach(async () => {
  await Promise.all(oneTest.splice(0).map((server) => server.kill()))
})

afterAll(async () => {
  await killAllServers()
})

const login = (server: ServerProcess, username: string, password: string) => attemptSignIn(server.url, username, password)

/** The password the first start printed, checking it was printed exactly once. */
function announcedPassword(server: ServerProcess): string {
  const matches = [...server.stdout().matchAll(PASSWORD_LINE)]
  expect(matches.length, 'number of "created user" lines').toBe(1)
  const password = matches[0]![1]!
  expect(password.length).toBeGreaterThanOrEqual(12)
  expect(server.stdout().split(password).length - 1, 'times the password appears on stdout').toBe(1)
  expect(server.stderr().includes(password), 'the password appears on stderr').toBe(false)
  return password
}

async function expectLoginWorks(server: ServerProcess, password: string) {
  const response = await login(server, 'admin', password)
  expect(response.status).toBe(200)
  const body = response.body as { session_key: unknown; user: { username: string; role: string } }
  expect(typeof body.session_key).toBe('string')
  expect((body.session_key as string).length).toBeGreaterThanOrEqual(22) // ≥128 bits, however encoded
  expect(body.user).toMatchObject({ username: 'admin', role: 'admin' })
  // and the key is a working session
  const me = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${body.session_key as string}` } })
  expect(me.status).toBe(200)
}

async function expectGracefulStop(server: ServerProcess) {
  const started = Date.now()
  const exit = await server.stop('SIGTERM', 20_000)
  const took = Date.now() - started
  expect(exit, server.describe()).toEqual({ code: 0, signal: null })
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
    await killAllServers()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('starts on a fresh folder and answers GET /api/health with the embedded database', async () => {
    first = await startServer({ DATA_DIR: dataDir }, true)
    const health = await first.healthy()
    expect(health.status).toBe('ok')
    expect(health.database).toEqual({ ok: true, kind: 'pglite' })
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true)
  }, START_TIMEOUT + 10_000)

  it('prints the first admin password once, and it signs in', async () => {
    await first.printed(LISTENING_LINE)
    password = announcedPassword(first)
    await expectLoginWorks(first, password)
  })

  it('refuses a second server on the same folder while the first runs', async () => {
    const second = await startServer({ DATA_DIR: dataDir })
    const exit = await second.waitForExit(60_000)
    expect(exit.code, second.describe()).not.toBe(0)
    expect(exit.code).not.toBeNull()
    const output = second.stderr() + second.stdout()
    expect(output).toMatch(/in use/)
    expect(output).toContain(dataDir)
    expect(second.stdout()).not.toMatch(/created user/)
    // the first one is unharmed and still owns the folder
    expect((await first.healthy(5000)).database.kind).toBe('pglite')
    expect(existsSync(join(dataDir, 'owner.lock'))).toBe(true)
    expect((await login(first, 'admin', password)).status).toBe(200)
  }, 70_000)

  it('says so without a stack trace', async () => {
    const second = await startServer({ DATA_DIR: dataDir })
    const exit = await second.waitForExit(60_000)
    expect(exit.code).not.toBe(0)
    expect(second.stderr()).toMatch(/in use/)
    expect(second.stderr()).not.toMatch(/^\s+at /m)
  }, 70_000)

  it('stops promptly with exit code 0 on SIGTERM and releases the folder', async () => {
    await expectGracefulStop(first)
    expect(existsSync(join(dataDir, 'owner.lock')), 'owner.lock left behind').toBe(false)
    expect(existsSync(join(dataDir, 'admin.sock')), 'admin.sock left behind').toBe(false)
  }, 30_000)

  it('restarts on the same folder without a new password, and the old one still works', async () => {
    const again = await startServer({ DATA_DIR: dataDir })
    const health = await again.healthy()
    expect(health.database).toEqual({ ok: true, kind: 'pglite' })
    await again.printed(LISTENING_LINE)
    expect(again.stdout()).not.toMatch(/created user "admin"/)
    expect(again.stdout().includes(password), 'the old password was printed again').toBe(false)
    await expectLoginWorks(again, password)
    await expectGracefulStop(again)
  }, START_TIMEOUT + 30_000)

  it('starts again after a crash left its lock and socket behind', async () => {
    const crashed = await startServer({ DATA_DIR: dataDir })
    await crashed.healthy()
    await crashed.kill() // SIGKILL: no cleanup runs
    expect(existsSync(join(dataDir, 'owner.lock')), 'the crash should leave owner.lock behind').toBe(true)

    const after = await startServer({ DATA_DIR: dataDir })
    expect((await after.healthy()).database).toEqual({ ok: true, kind: 'pglite' })
    await after.printed(LISTENING_LINE)
    expect(after.stdout()).not.toMatch(/created user "admin"/)
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
    await killAllServers()
    await database?.drop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('starts on a fresh database and answers GET /api/health with PostgreSQL', async () => {
    first = await startServer({ DATABASE_URL: database.url, DATA_DIR: dataDir }, true)
    const health = await first.healthy()
    expect(health.status).toBe('ok')
    expect(health.database).toEqual({ ok: true, kind: 'postgres' })
    // the embedded database is not opened: the data folder stays empty
    expect(await readdir(dataDir)).toEqual([])
  }, START_TIMEOUT + 10_000)

  it('prints the first admin password once, and it signs in', async () => {
    await first.printed(LISTENING_LINE)
    password = announcedPassword(first)
    await expectLoginWorks(first, password)
  })

  it('runs a second instance on the same database next to the first (the scale-out path)', async () => {
    const second = await startServer({ DATABASE_URL: database.url, DATA_DIR: dataDir })
    expect((await second.healthy()).database).toEqual({ ok: true, kind: 'postgres' })
    await second.printed(LISTENING_LINE)
    expect(second.stdout()).not.toMatch(/created user "admin"/)
    await expectLoginWorks(second, password)
    await expectGracefulStop(second)
    expect((await first.healthy(5000)).database.kind).toBe('postgres')
  }, START_TIMEOUT + 30_000)

  it('stops promptly with exit code 0 on SIGTERM', async () => {
    await expectGracefulStop(first)
  }, 30_000)

  it('restarts without a new password, and the old one still works', async () => {
    const again = await startServer({ DATABASE_URL: database.url, DATA_DIR: dataDir })
    expect((await again.healthy()).database).toEqual({ ok: true, kind: 'postgres' })
    await again.printed(LISTENING_LINE)
    expect(again.stdout()).not.toMatch(/created user "admin"/)
    expect(again.stdout().includes(password), 'the old password was printed again').toBe(false)
    await expectLoginWorks(again, password)
    await expectGracefulStop(again)
    expect(await readdir(dataDir)).toEqual([])
  }, START_TIMEOUT + 30_000)
})

