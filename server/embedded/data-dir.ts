import { readFileSync } from 'node:fs'
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type DatabaseHandle } from '../../db/connect.ts'
import { serveAdminSocket } from './admin-socket.ts'

// PGlite is a single-process database: two processes opening one data folder
// would corrupt it. So whoever opens the folder (the server, or the user
// command when no server runs) holds `owner.lock`, and a running server
// answers user commands over a Unix socket in the same folder instead.

export const ownerLockPath = (dataDir: string) => join(resolve(dataDir), 'owner.lock')
export const adminSocketPath = (dataDir: string) => join(resolve(dataDir), 'admin.sock')

interface LockInfo {
  pid: number
  role: 'server' | 'user-command'
}

export class DataDirInUseError extends Error {}

export interface EmbeddedDatabase {
  handle: DatabaseHandle
  /** (server only) answer `npm run user` over the admin socket while running */
  serveAdminCommands(app: FastifyInstance): void
  release(): Promise<void>
}

export async function openEmbeddedDatabase(
  dataDir: string,
  role: LockInfo['role'] = 'server',
  warn: (message: string) => void = (message) => console.warn(message),
): Promise<EmbeddedDatabase> {
  await secureDataDir(dataDir, warn)
  await acquireLock(dataDir, role)
  let handle: DatabaseHandle
  try {
    handle = await openDatabase({ dataDir: join(resolve(dataDir), 'pglite') })
  } catch (error) {
    await releaseLock(dataDir)
    throw error
  }
  let stopServing: (() => Promise<void>) | undefined
  return {
    handle,
    serveAdminCommands(app) {
      const server = serveAdminSocket(adminSocketPath(dataDir), app)
      stopServing = server.close
      app.addHook('onClose', async () => server.close())
    },
    async release() {
      await stopServing?.()
      await releaseLock(dataDir)
    },
  }
}

/**
 * Creates the data folder readable by its owner only (0700): it holds the
 * password hashes and session hashes. PGlite writes its files 0644 and its
 * folders 0755 (under the usual umask 022) and has no option to do otherwise,
 * so this folder's mode is what keeps other local users out of them. A folder
 * that already exists and lets others in is tightened, and the operator told.
 */
export async function secureDataDir(dataDir: string, warn: (message: string) => void): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const mode = (await stat(dataDir)).mode & 0o777
  if ((mode & 0o077) === 0) return
  const was = `mode ${mode.toString(8).padStart(4, '0')}`
  try {
    await chmod(dataDir, 0o700)
    warn(`the data folder ${resolve(dataDir)} was open to other users (${was}); it holds password hashes, so it is now 0700`)
  } catch (error) {
    warn(
      `the data folder ${resolve(dataDir)} is open to other users (${was}) and could not be made 0700 ` +
        `(${(error as NodeJS.ErrnoException).code ?? String(error)}); it holds password hashes: run chmod 700 on it`,
    )
  }
}

/** The live process holding the data folder, if any. */
export async function currentOwner(dataDir: string): Promise<LockInfo | undefined> {
  let info: LockInfo
  try {
    info = JSON.parse(await readFile(ownerLockPath(dataDir), 'utf8')) as LockInfo
  } catch {
    return undefined
  }
  return isAlive(info.pid) ? info : undefined
}

async function acquireLock(dataDir: string, role: LockInfo['role']): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(ownerLockPath(dataDir), 'wx', 0o600)
      await file.writeFile(JSON.stringify({ pid: process.pid, role } satisfies LockInfo))
      await file.close()
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = await currentOwner(dataDir)
    if (owner && owner.pid !== process.pid) {
      throw new DataDirInUseError(
        `the data folder ${resolve(dataDir)} is in use by process ${owner.pid} (${owner.role}); ` +
          'the embedded database allows one process per folder: stop it, or set DATA_DIR to another folder',
      )
    }
    await rm(ownerLockPath(dataDir), { force: true }) // left behind by a process that died
  }
  throw new DataDirInUseError(`could not lock the data folder ${resolve(dataDir)}`)
}

async function releaseLock(dataDir: string): Promise<void> {
  const owner = await currentOwner(dataDir)
  if (!owner || owner.pid === process.pid) await rm(ownerLockPath(dataDir), { force: true })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A killed server can linger as a zombie until someone reaps it (in a
  // container, PID 1 often never does); it holds nothing, so it doesn't count.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc (macOS): trust kill(0)
  }
}
