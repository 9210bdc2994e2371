import { buildSync } from 'esbuild'
import { renameSync } from 'node:fs'
import { basename, join } from 'node:path'
import { ROOT } from '../../helpers/server-process.ts'

const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'incident-tracker', 'bench')
const built = new Map<string, string>()

/**
 * A benchmark peer's TypeScript compiled to one plain .mjs, as our server's
 * bundle is for `npm start`: a peer run under tsx would pay what ours does
 * not (its loader, and keepNames making every named closure larger), which
 * shows most in memory per socket. Packages stay imports, resolved from
 * node_modules (the output is inside the project for that). Built once per
 * run of the benchmark, to a name of this process's own and then renamed
 * into place, so a run starting meanwhile never loads a half-written file.
 */
export function compiled(script: string): string {
  const done = built.get(script)
  if (done) return done
  const outfile = join(OUT_DIR, `${basename(script, '.ts')}.mjs`)
  const writing = `${outfile}.${process.pid}.tmp`
  buildSync({ entryPoints: [script], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: writing, logLevel: 'error' })
  renameSync(writing, outfile)
  built.set(script, outfile)
  return outfile
}
