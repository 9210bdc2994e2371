import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../../helpers/server-process.ts'

/** Newest modification time under a folder (0 when it does not exist). */
function newest(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

/**
 * The server serves web/dist as built: measuring a stale build would measure
 * old code. Rebuilds only when a source is newer than the build, because a
 * build empties web/dist and would break another run serving it right now.
 */
export async function ensureDashboardBuilt(log: (line: string) => void): Promise<void> {
  const built = existsSync(join(ROOT, 'web/dist/index.html')) ? statSync(join(ROOT, 'web/dist/index.html')).mtimeMs : 0
  const sources = Math.max(newest(join(ROOT, 'web/src')), newest(join(ROOT, 'web/index.html')), newest(join(ROOT, 'contracts')), newest(join(ROOT, 'vite.config.ts')))
  if (built > sources) return
  log('building the dashboard (web/dist is missing or older than web/src)')
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: ROOT })
}
