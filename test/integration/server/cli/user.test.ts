import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../../../helpers/postgres.ts'
import { killAllServers, launchServer, LISTENING_LINE, START_TIMEOUT, type ServerProcess } from '../../../helpers/server-process.ts'
import { attemptSignIn } from '../../../helpers/sign-in.ts'

// `npm run user -- ...` as an operator runs it, as a child process: on the
// embedded default with no server (the command opens the data folder itself),
// with a server running on that folder (the command goes through the server's
// admin socket), and on PostgreSQL.

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url))
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')
/** one command opens PGlite (WASM + PostGIS) itself: seconds each, initdb on the first */
const CLI_TIMEOUT = 60_000

const CONFIG_VARIABLES = [
  'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'DATA_DIR', 'ALLOWED_ORIGINS', 'SESSION_IDLE_SECONDS', 'SESSION_ABSOLUTE_SECONDS',
  'ADMIN_PASSWORD', 'LOG_LEVEL', 'BODY_LIMIT_BYTES', 'LOGIN_RATE_LIMIT_PER_MINUTE', 'DB_POOL_SIZE', 'TRUST_PROXY', 'COOKIE_SECURE',
]

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of CONFIG_VARIABLES) delete env[key]
  return { ...env, ...extra }
}

/** Every command this file started, so none outlives it (tsx runs node in a child: kill the group). */
const running = new Set<ChildProcess>()
/** SIGKILL to its group, and wait for it to be gone */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise((resolve) => child.once('close', resolve))
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    return // already gone
  }
  await gone
}

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

async function cli(env: Record<string, string>, args: string[], stdin?: string): Promise<CliResult> {
  const child = spawn(TSX, ['server/cli/user.ts', ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  if (stdin !== undefined) child.stdin!.end(stdin)
  const timer = setTimeout(() => void killGroup(child), CLI_TIMEOUT)
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (exitCode) => resolve(exitCode))
    })
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
    running.delete(child)
  }
}

/** The command succeeded; its output, for assertions. */
async function ok(env: Record<string, string>, args: string[], stdin?: string): Promise<string> {
  const result = await cli(env, args, stdin)
  expect(result.code, `\`user ${args[0]}\` failed: ${result.stderr}`).toBe(0)
  expect(result.stderr).toBe('')
  return result.stdout
}

/** The command failed with a non-zero code and no stack trace; its stderr, for assertions. */
async function refused(env: Record<string, string>, args: string[], stdin?: string): Promise<string> {
  const result = await cli(env, args, stdin)
  expect(result.code, `\`user ${args[0]}\` should fail; stdout: ${result.stdout}`).not.toBe(0)
  expect(result.code).not.toBeNull()
  expect(result.stderr).not.toMatch(/^\s+at /m)
  expect(result.stderr.trim()).not.toBe('')
  return result.stderr
}

interface Listed {
  id: number
  username: string
  role: string
}

/** `user list`, parsed: one tab-separated line per user. */
async function list(env: Record<string, string>): Promise<Listed[]> {
  const output = (await ok(env, ['list'])).trim()
  if (!output) return []
  return output.split('\n').map((line) => {
    const [id, username, role, created] = line.split('\t')
    expect(Number.isNaN(Date.parse(created ?? ''))).toBe(false)
    return { id: Number(id), username: username!, role: role! }
  })
}

const roles = (users: Listed[]) => Object.fromEntries(users.map((u) => [u.username, u.role]))

// --- a server process, for the phase where one runs on the data folder

async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  // this file signs in more than the default 10 times a minute from one address
  const server = await launchServer({ ...env, LOG_LEVEL: 'info', LOGIN_RATE_LIMIT_PER_MINUTE: '1000' })
  await server.healthy(START_TIMEOUT)
  await server.printed(LISTENING_LINE)
  return server
}

async function stopServer(server: ServerProcess) {
  expect((await server.stop()).code, 'exit code after SIGTERM').toBe(0)
}

async function login(server: ServerProcess, username: string, password: string): Promise<{ status: number; key?: string; role?: string }> {
  const answer = await attemptSignIn(server.url, username, password)
  if (answer.status !== 200) return { status: answer.status }
  const body = answer.body as { session_key: string; user: { role: string } }
  return { status: 200, key: body.session_key, role: body.user.role }
}

async function me(server: ServerProcess, key: string): Promise<{ status: number; username?: string; role?: string }> {
  const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${key}` } })
  if (response.status !== 200) return { status: response.status }
  const body = (await response.json()) as { username: string; role: string }
  return { status: 200, username: body.username, role: body.role }
}

// --- the embedded default: one data folder for the two phases below

const PASSWORDS = {
  alice: 'alice-first-password',
  bob: 'bob-stdin-password',
  bobNew: 'bob-reset-by-stdin',
  carol: 'carol-password-1',
  frank: 'frank-password-1',
  frankNew: 'frank-password-2',
}

let dataDir: string
let embedded: Record<string, string>
/** the users before the bad input */
let usersBefore: Listed[]

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'user-cli-test-'))
  embedded = { DATA_DIR: dataDir }
})
afterAll(async () => {
  // the killed processes are gone before their folder is
  await Promise.all([...running].map(killGroup))
  await killAllServers()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('npm run user on the embedded default, no server running', () => {
  it('adds a user with --password on a fresh folder', async () => {
    const output = await ok(embedded, ['add', '--username', 'alice', '--role', 'operator', '--password', PASSWORDS.alice])
    expect(output).toMatch(/^added alice \(operator\), id \d+\n$/)
    expect(output.includes(PASSWORDS.alice), 'the password is echoed').toBe(false)
    // it opened the folder itself, and let go of it
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true)
    expect(existsSync(join(dataDir, 'owner.lock')), 'owner.lock left behind').toBe(false)
  }, 2 * CLI_TIMEOUT)

  it('adds a user with --password-stdin', async () => {
    const output = await ok(embedded, ['add', '--username', 'bob', '--role', 'viewer', '--password-stdin'], `${PASSWORDS.bob}\n`)
    expect(output).toMatch(/^added bob \(viewer\), id \d+\n$/)
    expect(output.includes(PASSWORDS.bob), 'the password is echoed').toBe(false)
  })

  it('lists them', async () => {
    const users = await list(embedded)
    expect(users.map((u) => u.username)).toEqual(['alice', 'bob'])
    expect(roles(users)).toEqual({ alice: 'operator', bob: 'viewer' })
    expect(users[0]!.id).toBeLessThan(users[1]!.id)
  })

  it('changes a role', async () => {
    expect(await ok(embedded, ['set-role', '--username', 'alice', '--role', 'admin'])).toMatch(/alice is now admin/)
    expect(roles(await list(embedded))).toEqual({ alice: 'admin', bob: 'viewer' })
  })

  it('resets a password from stdin', async () => {
    const output = await ok(embedded, ['reset-password', '--username', 'bob', '--password-stdin'], `${PASSWORDS.bobNew}\n`)
    expect(output).toMatch(/password of bob changed/)
    expect(output.includes(PASSWORDS.bobNew), 'the password is echoed').toBe(false)
    // that it signs in (and the old one no longer does) is checked once a server runs, below
  })

  it('deletes a user', async () => {
    expect(await ok(embedded, ['add', '--username', 'carol', '--role', 'operator', '--password', PASSWORDS.carol])).toMatch(/^added carol/)
    expect(await ok(embedded, ['delete', '--username', 'carol'])).toMatch(/deleted carol/)
    usersBefore = await list(embedded)
    expect(roles(usersBefore)).toEqual({ alice: 'admin', bob: 'viewer' })
  })

  describe('refuses bad input, naming the option and the value, and changes nothing', () => {
    // each command opens the folder itself, so this phase keeps to one command per case;
    // more cases go through the running server below

    it('an unknown role', async () => {
      const stderr = await refused(embedded, ['add', '--username', 'erin', '--role', 'superuser', '--password', 'erin-password-1'])
      expect(stderr).toContain('--role')
      expect(stderr).toContain('superuser')
      expect(stderr).toContain('viewer, operator, admin')
    })

    it('a bad username', async () => {
      const stderr = await refused(embedded, ['add', '--username', 'erin smith!', '--role', 'viewer', '--password', 'erin-password-1'])
      expect(stderr).toContain('--username')
      expect(stderr).toContain('erin smith!')
    })

    it('a short password, without echoing it', async () => {
      const stderr = await refused(embedded, ['add', '--username', 'erin', '--role', 'viewer', '--password', 'Xy7#q'])
      expect(stderr).toMatch(/password/)
      expect(stderr).toContain('(got 5)')
      expect(stderr.includes('Xy7#q'), 'the password is echoed').toBe(false)
    })

    it('an unknown command', async () => {
      const stderr = await refused(embedded, ['promote', '--username', 'bob'])
      expect(stderr).toContain('promote')
      expect(stderr).toMatch(/add, list, set-role, reset-password, delete/)
    })

    it('an unknown option', async () => {
      const stderr = await refused(embedded, ['add', '--user', 'erin', '--role', 'viewer', '--password', 'erin-password-1'])
      expect(stderr).toContain('--user')
      expect(stderr.includes('erin-password-1'), 'the password is echoed').toBe(false)
    })

    it('a missing --username', async () => {
      const stderr = await refused(embedded, ['add', '--role', 'viewer', '--password', 'erin-password-1'])
      expect(stderr).toContain('--username')
      expect(stderr).toMatch(/required/)
    })

    it('deleting the last admin', async () => {
      expect(await refused(embedded, ['delete', '--username', 'alice'])).toMatch(/last admin/)
    })

    it('after all of which the users are as they were', async () => {
      expect(await list(embedded)).toEqual(usersBefore)
    })
  })
})

describe('npm run user on the embedded default, with the server running on the folder', () => {
  let server: ServerProcess
  beforeAll(async () => {
    server = await startServer(embedded)
  }, START_TIMEOUT + 10_000)
  afterAll(async () => {
    if (server) await stopServer(server)
  }, 30_000)

  it('the server did not create a first admin: the folder already has users', () => {
    expect(server.stdout()).not.toMatch(/created user "admin"/)
  })

  it('the password reset while no server ran is the one that signs in', async () => {
    expect((await login(server, 'bob', PASSWORDS.bobNew)).status).toBe(200)
    expect((await login(server, 'bob', PASSWORDS.bob)).status).toBe(401)
    expect(await login(server, 'alice', PASSWORDS.alice)).toMatchObject({ status: 200, role: 'admin' })
  })

  it('lists through the server (which holds the folder)', async () => {
    expect(existsSync(join(dataDir, 'owner.lock'))).toBe(true)
    expect(roles(await list(embedded))).toEqual({ alice: 'admin', bob: 'viewer' })
  })

  it('adds a user who can sign in over HTTP at once', async () => {
    const output = await ok(embedded, ['add', '--username', 'frank', '--role', 'operator', '--password-stdin'], `${PASSWORDS.frank}\n`)
    expect(output).toMatch(/^added frank \(operator\), id \d+\n$/)
    expect(await login(server, 'frank', PASSWORDS.frank)).toMatchObject({ status: 200, role: 'operator' })
    expect(roles(await list(embedded))).toEqual({ alice: 'admin', bob: 'viewer', frank: 'operator' })
  })

  it('reset-password signs the user out: the old session key gets 401', async () => {
    const { key } = await login(server, 'frank', PASSWORDS.frank)
    expect(await me(server, key!)).toMatchObject({ status: 200, username: 'frank' })
    expect(await ok(embedded, ['reset-password', '--username', 'frank', '--password', PASSWORDS.frankNew])).toMatch(/password of frank changed/)
    expect((await me(server, key!)).status).toBe(401)
    expect((await login(server, 'frank', PASSWORDS.frank)).status).toBe(401)
    expect((await login(server, 'frank', PASSWORDS.frankNew)).status).toBe(200)
  })

  it('set-role signs the user out too, and the next sign-in has the new role', async () => {
    const { key } = await login(server, 'frank', PASSWORDS.frankNew)
    expect(await ok(embedded, ['set-role', '--username', 'frank', '--role', 'viewer'])).toMatch(/frank is now viewer/)
    expect((await me(server, key!)).status).toBe(401)
    expect(await login(server, 'frank', PASSWORDS.frankNew)).toMatchObject({ status: 200, role: 'viewer' })
  })

  describe('reports bad input from the server, and changes nothing', () => {
    let before: Listed[]
    beforeAll(async () => {
      before = await list(embedded)
    }, CLI_TIMEOUT)

    it('an unknown role', async () => {
      const stderr = await refused(embedded, ['set-role', '--username', 'frank', '--role', 'superuser'])
      expect(stderr).toContain('--role')
      expect(stderr).toContain('superuser')
    })

    it('a bad username', async () => {
      const stderr = await refused(embedded, ['add', '--username', 'erin/../x', '--role', 'viewer', '--password', 'erin-password-1'])
      expect(stderr).toContain('--username')
      expect(stderr).toContain('erin/../x')
    })

    it('a short password from stdin, without echoing it', async () => {
      const stderr = await refused(embedded, ['reset-password', '--username', 'bob', '--password-stdin'], 'Qz8!\n')
      expect(stderr).toMatch(/password/)
      expect(stderr).toContain('(got 4)')
      expect(stderr.includes('Qz8!'), 'the password is echoed').toBe(false)
    })

    it('an unknown command', async () => {
      expect(await refused(embedded, ['rename', '--username', 'bob'])).toContain('rename')
    })

    it('a missing --username', async () => {
      expect(await refused(embedded, ['delete'])).toContain('--username')
    })

    it('a user that does not exist, or already exists', async () => {
      const missing = await refused(embedded, ['reset-password', '--username', 'zed', '--password', 'zed-password-1'])
      expect(missing).toContain('--username')
      expect(missing).toContain('zed')
      expect(missing.includes('zed-password-1'), 'the password is echoed').toBe(false)
      const taken = await refused(embedded, ['add', '--username', 'bob', '--role', 'admin', '--password', 'another-password'])
      expect(taken).toContain('bob')
      expect(taken).toMatch(/taken/)
    })

    it('deleting or demoting the last admin', async () => {
      expect(await refused(embedded, ['delete', '--username', 'alice'])).toMatch(/last admin/)
      expect(await refused(embedded, ['set-role', '--username', 'alice', '--role', 'operator'])).toMatch(/last admin/)
    })

    it('after all of which the users are as they were, and bob still signs in', async () => {
      expect(await list(embedded)).toEqual(before)
      expect(roles(before)).toEqual({ alice: 'admin', bob: 'viewer', frank: 'viewer' })
      expect((await login(server, 'bob', PASSWORDS.bobNew)).status).toBe(200)
    })
  })

  it('delete signs the user out and they cannot sign in again', async () => {
    const { key } = await login(server, 'frank', PASSWORDS.frankNew)
    expect(await ok(embedded, ['delete', '--username', 'frank'])).toMatch(/deleted frank/)
    expect((await me(server, key!)).status).toBe(401)
    expect((await login(server, 'frank', PASSWORDS.frankNew)).status).toBe(401)
    expect(roles(await list(embedded))).toEqual({ alice: 'admin', bob: 'viewer' })
  })
})

describe('npm run user with DATABASE_URL', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let scratch: string
  let env: Record<string, string>
  beforeAll(async () => {
    database = await createDatabase()
    scratch = await mkdtemp(join(tmpdir(), 'user-cli-pg-'))
    env = { DATABASE_URL: database.url, DATA_DIR: scratch }
  })
  afterAll(async () => {
    await database?.drop()
    if (scratch) await rm(scratch, { recursive: true, force: true })
  })

  it('adds and lists users on a fresh database', async () => {
    expect(await ok(env, ['add', '--username', 'grace', '--role', 'admin', '--password', 'grace-password-1'])).toMatch(/^added grace \(admin\), id \d+\n$/)
    expect(await ok(env, ['add', '--username', 'heidi', '--role', 'viewer', '--password-stdin'], 'heidi-password-1\n')).toMatch(/^added heidi \(viewer\)/)
    expect(roles(await list(env))).toEqual({ grace: 'admin', heidi: 'viewer' })
    // the embedded database was never opened
    expect(await readdir(scratch)).toEqual([])
  })

  it('refuses bad input and deleting the last admin there too', async () => {
    const stderr = await refused(env, ['add', '--username', 'ivan', '--role', 'boss', '--password', 'ivan-password-1'])
    expect(stderr).toContain('--role')
    expect(stderr).toContain('boss')
    expect(await refused(env, ['delete', '--username', 'grace'])).toMatch(/last admin/)
    expect(roles(await list(env))).toEqual({ grace: 'admin', heidi: 'viewer' })
  })
})

afterEach(async () => {
  // a command that outlived its test (a failure mid-way): nothing may keep the folder locked for the next one
  await Promise.all([...running].map(killGroup))
})
