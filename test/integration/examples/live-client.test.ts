import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ServerFrame } from '../../../contracts/live.ts'
import { createDatabase } from '../../helpers/postgres.ts'
import { freshRedisUrl } from '../../helpers/redis.ts'
import { launchServer, ROOT, type ServerProcess } from '../../helpers/server-process.ts'
import { signIn } from '../../helpers/sign-in.ts'
import { tcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.ts'
import { bearer, freshDatabaseEnv } from '../../helpers/test-server.ts'

// examples/live-client.mjs is documentation (docs/live-updates.md points to
// it), so it is run as a reader would run it: `node examples/live-client.mjs`
// against a real server process, reading what it prints.

const ADMIN_PASSWORD = 'live-client-admin-password'
/** how long a wait for a printed line may take before the test fails with what was printed */
const LINE_TIMEOUT_MS = 30_000

interface ClientProcess {
  /** resolves with the first printed frame that matches, waiting for it if need be */
  frame(match: (frame: ServerFrame) => boolean): Promise<ServerFrame>
  frames(): ServerFrame[]
  stderr(): string
  exited: Promise<number | null>
  kill(): void
}

const running: ClientProcess[] = []

function runClient(args: string[], env: Record<string, string> = {}): ClientProcess {
  const child = spawn(process.execPath, ['examples/live-client.mjs', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const wakers = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    for (const wake of wakers) wake()
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  // every line on stdout is one frame, as JSON
  const frames = () => lines.map((line) => JSON.parse(line) as ServerFrame)
  const client: ClientProcess = {
    frames,
    stderr: () => stderr,
    exited,
    frame(match) {
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer)
          wakers.delete(check)
        }
        const check = () => {
          const found = frames().find(match)
          if (found) {
            done()
            resolve(found)
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no such frame printed within ${LINE_TIMEOUT_MS} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`))
        }, LINE_TIMEOUT_MS)
        void exited.then((code) => {
          done()
          reject(new Error(`the client exited with ${code} before printing it; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`))
        })
        wakers.add(check)
        check()
      })
    },
    kill: () => child.kill('SIGKILL'),
  }
  running.push(client)
  return client
}

afterEach(() => {
  for (const client of running.splice(0)) client.kill()
})

const isType = (type: ServerFrame['type']) => (frame: ServerFrame) => frame.type === type
const savedNamed = (name: string) => (frame: ServerFrame) => frame.type === 'post_save' && frame.feature.properties.name === name

async function createIncident(server: ServerProcess, key: string, name: string) {
  const response = await fetch(`${server.url}/api/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify({ name, location: { lon: 12.5, lat: 41.9 } }),
  })
  expect(response.status).toBe(201)
  return (await response.json()) as { id: string }
}

const BACKENDS = {
  'the embedded default': async () => freshDatabaseEnv('pglite'),
  'PostgreSQL and Redis': async () => {
    const database = await createDatabase()
    return { env: { DATABASE_URL: database.url, REDIS_URL: await freshRedisUrl() }, drop: database.drop }
  },
}

describe.each(Object.keys(BACKENDS) as (keyof typeof BACKENDS)[])('examples/live-client.mjs against a server on %s', (backend) => {
  let server: ServerProcess
  let drop: (() => Promise<void>) | undefined
  let adminKey: string

  beforeAll(async () => {
    const database = await BACKENDS[backend]()
    drop = database.drop
    server = await launchServer({ ...database.env, ADMIN_PASSWORD, LOGIN_RATE_LIMIT_PER_MINUTE: '1000' })
    await server.following()
    adminKey = (await signIn(server.url, 'admin', ADMIN_PASSWORD)).key
  })
  afterAll(async () => {
    if (server) expect(await server.stop()).toEqual({ code: 0, signal: null })
    await drop?.()
  }, 60_000)

  it('signs in with the username and password from the environment and prints the post_save of an incident created over HTTP', async () => {
    const client = runClient([], { INCIDENTS_URL: server.url, INCIDENTS_USERNAME: 'admin', INCIDENTS_PASSWORD: ADMIN_PASSWORD })
    await client.frame(isType('ready')) // subscribed: a save from now on reaches it

    const created = await createIncident(server, adminKey, 'printed by the example')

    const saved = await client.frame(savedNamed('printed by the example'))
    expect(saved).toMatchObject({ type: 'post_save', created: true, feature: { type: 'Feature', id: created.id } })
    expect(saved).toHaveProperty('id')
    expect(saved).toHaveProperty('event')
  })

  it('takes a session key as an argument, and after a drop resumes with since and epoch: a save made while it was away is printed once, with no reset', async () => {
    const proxy: TcpProxy = await tcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) })
    try {
      const client = runClient(['--url', `http://127.0.0.1:${proxy.port}`, '--session-key', adminKey])
      await client.frame(isType('ready'))

      await proxy.cut()
      await createIncident(server, adminKey, 'saved while the client was away')
      await proxy.restore()

      await client.frame(savedNamed('saved while the client was away'))
      expect(client.stderr()).toContain('reconnecting')
      expect(client.frames().filter(savedNamed('saved while the client was away'))).toHaveLength(1)
      expect(client.frames().filter(isType('reset'))).toEqual([])
    } finally {
      await proxy.close()
    }
  })
})

describe('examples/live-client.mjs given bad arguments', () => {
  it.each([
    [['--url', 'not a url', '--session-key', 'k'], '--url (or INCIDENTS_URL): not a URL: "not a url"'],
    [['--url', 'ftp://example.org', '--session-key', 'k'], '--url (or INCIDENTS_URL): must be http or https: "ftp://example.org"'],
    [['--username', 'ana'], '--username given without --password'],
    [['--password', 'long-password'], '--password given without --username'],
    [[], 'give --session-key, or --username and --password'],
    [['--session', 'k'], "Unknown option '--session'"],
  ])('%j exits with 2 and says what is wrong with which argument', async (args, message) => {
    const client = runClient(args)
    expect(await client.exited).toBe(2)
    expect(client.stderr()).toContain(`live-client: ${message}`)
    expect(client.stderr()).toContain('usage: node examples/live-client.mjs')
    expect(client.frames()).toEqual([])
  })
})
