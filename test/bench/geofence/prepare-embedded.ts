import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROOT } from '../../helpers/server-process.ts'
import { loadCounties } from './data.ts'
import { migrateAndLoad } from './migrate-and-load.ts'

// Prepares an embedded (PGlite) data folder with the counties, in a process
// of its own: PGlite's initdb and CREATE EXTENSION postgis are long
// synchronous WASM calls (many seconds on two busy cores) that would block
// the benchmark's event loop, keep PGlite's memory in the process that then
// generates the load, and could not overlap the PostgreSQL preparation.
//
//   tsx test/bench/geofence/prepare-embedded.ts <DATA_DIR> [county limit]
//
// prints {"loaded": n} on success.

const SELF = fileURLToPath(import.meta.url)

/** Runs this file as a child process, in a process group of its own that is killed on timeout or abort. */
export function prepareEmbedded(dataDir: string, countyLimit: number | undefined, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  return new Promise((done, reject) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [SELF, dataDir, ...(countyLimit === undefined ? [] : [String(countyLimit)])], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(kill, options.timeoutMs ?? 300_000)
    options.signal?.addEventListener('abort', kill, { once: true })
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', kill)
      const result = /\{"loaded":(\d+)\}/.exec(output)
      if (code === 0 && result) done(Number(result[1]))
      else reject(new Error(`preparing the embedded database failed (${signal ?? `exit ${code}`}):\n${output}`))
    })
  })
}

// run as a script (not imported by the scenario)
if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const [dataDir, limit] = process.argv.slice(2)
  if (!dataDir) {
    console.error('usage: prepare-embedded.ts <DATA_DIR> [county limit]')
    process.exit(2)
  }
  // the server's embedded database lives in DATA_DIR/pglite (server/embedded/data-dir.ts)
  // a limit of 0 (the start scenario timing the database alone) must not even parse the atlas
  const counties = limit === '0' ? [] : loadCounties(limit === undefined ? undefined : Number(limit))
  const loaded = await migrateAndLoad({ dataDir: join(dataDir, 'pglite') }, counties)
  console.log(JSON.stringify({ loaded }))
  process.exit(0)
}
