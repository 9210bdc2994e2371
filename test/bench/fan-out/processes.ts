import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import { createDatabase } from '../../helpers/postgres.ts'
import { compiled } from '../harness/compiled.ts'
import { freePort, ROOT, signIn, spawnServer, type ServerProcess } from '../../helpers/server-process.ts'
import type { SubjectKind, SwarmCommand, SwarmConfig, SwarmReport } from './protocol.ts'

// The processes of the fan-out and idle-socket benchmarks: our real server
// (with its database, Redis and users), the two peers, the client swarm, and
// what /proc says about them. Every process gets a group of its own so it can
// be killed with everything it started, and stops by itself after a while.

const HERE = join(ROOT, 'test', 'bench', 'fan-out')
/** no benchmark process lives longer than this, even if the bench is killed */
export const MAX_LIFETIME_MS = 45 * 60_000

// ---- /proc ----

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m)
  if (!line) throw new Error(`no VmRSS for process ${pid}`)
  return Number(line[1]) * 1024
}

/** User + system CPU time in seconds so far (/proc/<pid>/stat; Linux counts in 1/100 s). */
export function cpuSeconds(pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    throw new Error(`process ${pid} is gone`)
  }
  // the command name may hold spaces: fields are counted after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * CPU seconds so far of every PostgreSQL and Redis server process on the
 * machine (by their command names): what ours (and Socket.IO's adapters) make
 * them do is part of the cost of a frame. On a shared machine it includes
 * everyone else's queries too.
 */
export function storeCpuSeconds(): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      if (comm === 'postgres' || comm.startsWith('redis-server')) total += cpuSeconds(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return total
}

/**
 * How busy the machine is besides us: the 1-minute load average and the share
 * of the last minute in which some task waited for a CPU (pressure stall
 * information; NaN where the kernel has none). Other work on the box shows
 * up in every number, so the results say how much there was.
 */
export function machineLoad(): { load: number; cpuWaiting: number } {
  let cpuWaiting = NaN
  try {
    cpuWaiting = Number(/^some .*avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN)
  } catch {
    // no PSI on this kernel
  }
  return { load: loadavg()[0]!, cpuWaiting }
}

export function describeLoad(start: ReturnType<typeof machineLoad>, end: ReturnType<typeof machineLoad>): string {
  const psi = (l: ReturnType<typeof machineLoad>) => (Number.isNaN(l.cpuWaiting) ? '' : `, some task waiting for a CPU ${l.cpuWaiting.toFixed(0)} % of the last minute`)
  return `Machine load at the start: load average ${start.load.toFixed(1)}${psi(start)}; at the end: ${end.load.toFixed(1)}${psi(end)}. Clients, servers, PostgreSQL and Redis (and whatever else runs) share its cores.`
}

// ---- cores ----

/**
 * Which cores the server under test and the client swarm are pinned to
 * (taskset): apart, so neither takes the other's CPU and the swarm's share
 * is known. By default the server gets core 0 and the swarm core 1;
 * BENCH_FANOUT_SERVER_CPUS / BENCH_FANOUT_SWARM_CPUS (taskset lists, e.g.
 * "0-1" and "2-3") change that, BENCH_FANOUT_PIN=0 turns pinning off. Null
 * when off, or with one core, or without taskset. PostgreSQL and Redis are
 * left where the system puts them: pinning them would mean changing
 * processes the bench does not own.
 */
export function corePlan(): { server: string; swarm: string } | null {
  if (process.env.BENCH_FANOUT_PIN === '0' || availableParallelism() < 2) return null
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
  } catch {
    return null
  }
  return { server: process.env.BENCH_FANOUT_SERVER_CPUS ?? '0', swarm: process.env.BENCH_FANOUT_SWARM_CPUS ?? '1' }
}

/** Pins every thread of a process (and so what it starts later) to the given cores. */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' })
}

// ---- Redis ----

const REDIS_BASE = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CLAIM = 'bench:claimed-by'
/** set, without expiry, in every database a benchmark has used: what is left there is a benchmark's */
const RESERVED = 'bench:reserved'
/** the tests use 1, 2, … (one per vitest worker); the map and geofence benchmarks use 12 and 13 without asking */
const CANDIDATES = [15, 14, 11, 10, 9, 8]

/**
 * A Redis database no one else is using, claimed with SET NX: our server's
 * stream is always named `notifications`, and other benchmarks or test files
 * may be following theirs in other databases at the same moment.
 *
 * A database that a benchmark used before (it holds RESERVED) but nobody
 * claims now holds only what a killed run left (its stream, BullMQ's keys):
 * it is emptied and taken. One that holds data of someone else is left
 * alone. CI runs on the machine as the last session left it, so a run that
 * was killed must not make the next one fail.
 */
export async function claimRedisDatabase(label: string): Promise<{ url: string; release: () => Promise<void> }> {
  for (const db of CANDIDATES) {
    const url = new URL(REDIS_BASE)
    url.pathname = `/${db}`
    const client = createClient({ url: url.toString() })
    await client.connect()
    try {
      const claimed = await client.set(CLAIM, `${label} ${process.pid}`, { condition: 'NX', expiration: { type: 'EX', value: MAX_LIFETIME_MS / 1000 } })
      if (claimed !== 'OK') continue
      const size = await client.dbSize()
      if (size > 1) {
        if (!(await client.exists(RESERVED))) {
          await client.del(CLAIM) // someone else's data: not ours to empty
          continue
        }
        await emptyKeeping(client, `${label} ${process.pid}`)
      }
      await client.set(RESERVED, '1')
      return {
        url: url.toString(),
        async release() {
          const c = createClient({ url: url.toString() })
          await c.connect()
          // everything the run wrote (our stream and epoch, BullMQ's queues), then the claim
          await emptyKeeping(c, null)
          await c.close()
        },
      }
    } finally {
      await client.close()
    }
  }
  throw new Error(`no free Redis database among ${CANDIDATES.join(', ')} at ${REDIS_BASE}`)
}

/** FLUSHDB, keeping RESERVED and, when `claimant` is given, the claim. */
async function emptyKeeping(client: { flushDb(): Promise<unknown>; set(key: string, value: string, options?: { expiration: { type: 'EX'; value: number } }): Promise<unknown> }, claimant: string | null): Promise<void> {
  await client.flushDb()
  await client.set(RESERVED, '1')
  if (claimant) await client.set(CLAIM, claimant, { expiration: { type: 'EX', value: MAX_LIFETIME_MS / 1000 } })
}

// ---- our server ----

export interface OurServer extends ServedSubject {
  url: string
  /** the node process serving */
  pid: number
  viewerKey: string
  operatorKey: string
  server: ServerProcess
  stop(): Promise<void>
}

const ADMIN_PASSWORD = 'bench-admin-password'

/**
 * Environment of our server for these benchmarks. `extra` may carry
 * NODE_OPTIONS of the bench's own (the heap probe); BENCH_SERVER_NODE_OPTIONS
 * (and CPU_PROFILE_DIR) pass a profiler through (see cpu-profile.mjs).
 */
function ourEnv(databaseUrl: string, redisUrl: string, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    ADMIN_PASSWORD,
    // every socket shares one session, but each round signs in again
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    // ...and opens up to 10 000 sockets: the per-session and per-user caps at their most
    WS_MAX_SOCKETS_PER_SESSION: '10000',
    WS_MAX_SOCKETS_PER_USER: '10000',
    LOG_LEVEL: 'warn',
  }
  const nodeOptions = [extra.NODE_OPTIONS, process.env.BENCH_SERVER_NODE_OPTIONS].filter(Boolean).join(' ')
  if (process.env.CPU_PROFILE_DIR) env.CPU_PROFILE_DIR = process.env.CPU_PROFILE_DIR
  return { ...env, ...extra, ...(nodeOptions && { NODE_OPTIONS: nodeOptions }) }
}

/** A fresh PostgreSQL database and a Redis database of its own for our server; `drop` removes both. */
export async function ourDatabase(label: string): Promise<{ databaseUrl: string; redisUrl: string; drop: () => Promise<void> }> {
  const database = await createDatabase()
  let redis: Awaited<ReturnType<typeof claimRedisDatabase>>
  try {
    redis = await claimRedisDatabase(label)
  } catch (error) {
    await database.drop()
    throw error
  }
  return {
    databaseUrl: database.url,
    redisUrl: redis.url,
    drop: async () => {
      await Promise.allSettled([database.drop(), redis.release()])
    },
  }
}

/** Our server on that database, as `npm start` runs it, with a poster (operator) and a watcher (viewer) made over the API. */
export async function startOurServer(databaseUrl: string, redisUrl: string, extraEnv: Record<string, string> = {}): Promise<OurServer> {
  const server = await spawnServer(ourEnv(databaseUrl, redisUrl, extraEnv), { via: 'npm start' })
  try {
    await server.healthy()
    const adminKey = await signIn(server.url, 'admin', ADMIN_PASSWORD)
    for (const [username, role] of [['poster', 'operator'], ['watcher', 'viewer']] as const) {
      const response = await fetch(`${server.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ username, role, password: `${username}-password` }),
      })
      // 409: a previous round on this database already made it
      if (response.status !== 201 && response.status !== 409) throw new Error(`creating ${username}: ${response.status} ${await response.text()}`)
    }
    return {
      url: server.url,
      pid: server.child.pid!,
      // one session for all sockets: sessions are per sign-in, sockets may share one
      viewerKey: await signIn(server.url, 'watcher', 'watcher-password'),
      operatorKey: await signIn(server.url, 'poster', 'poster-password'),
      server,
      output: () => server.output(),
      stop: () => stopServer(server),
    }
  } catch (error) {
    server.kill()
    throw error
  }
}

/** SIGTERM (graceful: our server closes its sockets with 1001), SIGKILL to the group if that takes too long. */
async function stopServer(server: ServerProcess): Promise<void> {
  const timer = setTimeout(() => server.kill(), 20_000)
  try {
    await server.stop()
  } finally {
    clearTimeout(timer)
    server.kill()
  }
}

// ---- the peers ----

/** What the bench needs of any subject's server: where it listens, which process to read, what it printed. */
export interface ServedSubject {
  url: string
  pid: number
  output(): string
}

export interface PeerServer extends ServedSubject {
  url: string
  pid: number
  /** the last few KiB it printed */
  output(): string
  stop(): Promise<void>
}

/** The command that runs a peer: a plain node process running it compiled (as ours runs its bundle), or bun for Bun's. */
function peerCommand(kind: Exclude<SubjectKind, 'ours'>, nodeFlags: string[]): { command: string; args: string[]; env: Record<string, string> } {
  if (kind === 'bun') return { command: join(ROOT, 'node_modules', '.bin', 'bun'), args: [join(HERE, 'bun-server.mjs')], env: {} }
  const script = { bare: 'bare-server.ts', batched: 'batched-server.ts', socketio: 'socketio-server.ts', 'socketio-streams': 'socketio-server.ts' }[kind]
  return { command: process.execPath, args: [...nodeFlags, compiled(join(HERE, script))], env: kind === 'socketio-streams' ? { ADAPTER: 'streams' } : {} }
}

/**
 * Starts a peer's server; `cpus` pins it (taskset execs the server, so the
 * pid is the server's).
 */
export async function startPeer(kind: Exclude<SubjectKind, 'ours'>, env: Record<string, string> = {}, nodeFlags: string[] = [], cpus?: string): Promise<PeerServer> {
  const port = await freePort()
  const run = peerCommand(kind, nodeFlags)
  const [command, args] = cpus ? ['taskset', ['-c', cpus, run.command, ...run.args]] : [run.command, run.args]
  const child = spawn(command as string, args as string[], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), MAX_LIFETIME_MS: String(MAX_LIFETIME_MS), ...run.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const output = capture(child)
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const peer: PeerServer = {
    url,
    pid: child.pid!,
    output,
    async stop() {
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      killGroup(child, 'SIGKILL') // anything it left in its group
    },
  }
  const deadline = Date.now() + 30_000
  while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await peer.stop()
      throw new Error(`${kind} server did not start:\n${output()}`)
    }
    await sleep(100)
  }
  return peer
}

// ---- the swarm ----

export interface Swarm {
  send(command: SwarmCommand): void
  /** the next report; rejects if the swarm reports an error or dies */
  next<T extends SwarmReport['type']>(type: T, timeoutMs: number): Promise<Extract<SwarmReport, { type: T }>>
  /** asks it to close its sockets and exit; SIGKILLs its group if it does not */
  close(): Promise<void>
}

/** Forks the swarm; `cpus` pins it (before it opens a socket). */
export function startSwarm(config: Omit<SwarmConfig, 'maxLifetimeMs'>, cpus?: string): Swarm {
  const child = fork(join(HERE, 'swarm.ts'), [JSON.stringify({ ...config, maxLifetimeMs: MAX_LIFETIME_MS } satisfies SwarmConfig)], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  })
  if (cpus) pin(child.pid!, cpus)
  const output = capture(child)
  const reports: SwarmReport[] = []
  let wake: (() => void) | undefined
  let exited = false
  child.on('message', (message: SwarmReport) => {
    reports.push(message)
    wake?.()
  })
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true
      wake?.()
      resolve()
    }),
  )
  return {
    send: (command) => child.send(command),
    async next(type, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const report = reports.shift()
        if (report?.type === 'error') throw new Error(`swarm: ${report.message}`)
        if (report?.type === type) return report as Extract<SwarmReport, { type: typeof type }>
        if (report) continue
        if (exited) throw new Error(`swarm exited with ${child.exitCode}:\n${output()}`)
        if (Date.now() > deadline) throw new Error(`no "${type}" from the swarm within ${timeoutMs} ms:\n${output()}`)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))).unref()
        })
        wake = undefined
      }
    },
    async close() {
      if (!exited && child.connected) child.send({ cmd: 'close' })
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000)
      await gone
      clearTimeout(timer)
      killGroup(child, 'SIGKILL')
    },
  }
}

// ---- small things ----

/** Signals a child's whole process group (a benchmark's children lead their own). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal)
  } catch {
    // already gone
  }
}

/** Keeps the last few KiB a child printed, for error messages. */
export function capture(child: ChildProcess): () => string {
  let output = ''
  const keep = (chunk: string) => (output = (output + chunk).slice(-8192))
  child.stdout?.setEncoding('utf8').on('data', keep)
  child.stderr?.setEncoding('utf8').on('data', keep)
  return () => output
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---- the heap probe (heap-probe.mjs) ----

const PROBE = join(HERE, 'heap-probe.mjs')

/** What a server needs to load the probe: node flags for a peer, environment for ours (tsx passes NODE_OPTIONS on). */
export function heapProbe(dir: string): { nodeFlags: string[]; env: Record<string, string> } {
  return { nodeFlags: [`--import=${PROBE}`], env: { HEAP_PROBE_DIR: dir, NODE_OPTIONS: `--import=${PROBE}` } }
}

/** Makes the process collect its garbage and returns process.memoryUsage() as it was after that. */
export async function collectAndMeasure(pid: number, dir: string, timeoutMs = 15_000): Promise<NodeJS.MemoryUsage> {
  const file = join(dir, `${pid}.json`)
  rmSync(file, { force: true })
  process.kill(pid, 'SIGUSR2')
  const deadline = Date.now() + timeoutMs
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} wrote no heap report within ${timeoutMs} ms (is heap-probe.mjs loaded?)`)
    await sleep(50)
  }
  return JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage
}

/** Median of a few RSS readings `everyMs` apart: one reading can catch a GC or an allocation burst. */
export async function steadyRss(pid: number, readings = 5, everyMs = 300): Promise<number> {
  const values: number[] = []
  for (let i = 0; i < readings; i++) {
    if (i) await sleep(everyMs)
    values.push(rssBytes(pid))
  }
  return values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}
