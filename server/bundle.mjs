// @ts-check
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// The server bundle that `npm start` runs (server/start.mjs): server/main.ts
// and everything of ours it imports, compiled by esbuild into one ES module,
// with every package left as a plain import from node_modules. Plain `node`
// loads it without tsx's loader thread, which made a second start noticeably
// slower (docs/performance-log.md).
//
// Built by `npm install` (postinstall) and again by the launcher whenever a
// source is newer than the bundle. Plain JavaScript so that plain node runs it.
//
//   node server/bundle.mjs            builds it (and says where)

/** The project folder: this file is never bundled, so relative to it is right. */
export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
export const DEFAULT_OUTDIR = join(ROOT, 'node_modules', '.cache', 'incident-tracker', 'server')
const ENTRY = 'server/main.ts'
/** What a build was made from, next to it; written last, so it marks a complete build. */
const RECORD = 'inputs.json'
/** Files that change what a build produces without being among its inputs: packages, compiler settings, this file. */
const ALSO_DEPENDS_ON = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json', 'server/bundle.mjs']
/**
 * A build counts as made from the sources as they were this long before it
 * started: a file saved while esbuild was reading it, or stamped by a coarse
 * file-system clock, is then newer and the next start builds again.
 */
const CLOCK_MARGIN_MS = 1000

/**
 * @typedef {object} BuildRecord
 * @property {number} startedAt when the build began reading the sources (ms since the epoch)
 * @property {string[]} inputs the sources esbuild read, relative to ROOT
 * @property {string[]} outputs the files it wrote, relative to the output folder
 */

/**
 * Where a build goes. The folder must be inside the project, where the
 * bundle's imports of packages find node_modules.
 *
 * @param {string} [outdir]
 */
export function bundlePaths(outdir = DEFAULT_OUTDIR) {
  const dir = resolve(outdir)
  return { outdir: dir, main: join(dir, 'main.mjs'), record: join(dir, RECORD) }
}

/** @typedef {ReturnType<typeof bundlePaths>} BundlePaths */

/**
 * The record of the build there, if there is a complete one.
 *
 * @param {BundlePaths} paths
 * @returns {BuildRecord | undefined}
 */
export function readRecord(paths) {
  try {
    const record = JSON.parse(readFileSync(paths.record, 'utf8'))
    const valid = typeof record.startedAt === 'number' && Array.isArray(record.inputs) && Array.isArray(record.outputs)
    return valid ? record : undefined
  } catch {
    return undefined
  }
}

/**
 * Why the bundle must be built before it runs, or undefined when it is up to
 * date: no complete build there, an output missing, or a source (or
 * package.json, the lockfile, tsconfig) modified since the build started.
 * Costs one stat per source, no reading.
 *
 * @param {BundlePaths} [paths]
 * @returns {string | undefined}
 */
export function staleReason(paths = bundlePaths()) {
  const record = readRecord(paths)
  if (!record) return 'there is none yet'
  for (const output of record.outputs) {
    if (!exists(join(paths.outdir, output))) return `${output} is missing`
  }
  const since = record.startedAt - CLOCK_MARGIN_MS
  for (const input of record.inputs) {
    const modified = mtime(join(ROOT, input))
    if (modified === undefined) return `${input} is gone`
    if (modified > since) return `${input} changed`
  }
  for (const file of ALSO_DEPENDS_ON) {
    const modified = mtime(join(ROOT, file))
    if (modified !== undefined && modified > since) return `${file} changed`
  }
  return undefined
}

/** esbuild's errors, already printed in its format; the launcher exits without a stack trace. */
export class BuildFailed extends Error {}

/**
 * Builds the bundle into `paths.outdir`: main.mjs, its source map, and the
 * record. Each is written to a temporary name and renamed into place, the
 * record last, so a process starting meanwhile (or a second build racing this
 * one) never loads a half-written file.
 *
 * @param {BundlePaths} [paths]
 * @returns {Promise<BuildRecord>}
 */
export async function buildServerBundle(paths = bundlePaths()) {
  const esbuild = await import('esbuild') // only when building: a fresh start never loads it
  const startedAt = Date.now()
  /** @type {import('esbuild').BuildResult<{ write: false, metafile: true }>} */
  let result
  try {
    result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // every bare import (fastify, PGlite, ...) stays an import, resolved from node_modules at run time
      packages: 'external',
      // one file: splitting main.ts's `import('./app.ts')` into a chunk of its own (so that the app's packages
      // load while PGlite opens, as from the sources) measured no faster on a second start
      outfile: paths.main,
      // for stack traces that point at the .ts sources (server/stack-traces.mjs); those are in the project, beside it
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      write: false,
      logLevel: 'error', // prints its errors (file, line, the code) to stderr itself
    })
  } catch (error) {
    const count = /** @type {{ errors?: unknown[] }} */ (error).errors?.length
    if (!count) throw error
    throw new BuildFailed(`could not build the server bundle: ${count === 1 ? 'the error' : `the ${count} errors`} above`)
  }

  // the map before the code that names it
  const files = [...result.outputFiles].sort((a, b) => Number(a.path === paths.main) - Number(b.path === paths.main))
  for (const file of files) writeAtomically(file.path, file.contents)
  const record = {
    startedAt,
    inputs: Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/')),
    outputs: files.map((file) => relative(paths.outdir, file.path)),
  }
  writeAtomically(paths.record, JSON.stringify(record, null, 2))
  return record
}

/**
 * @param {string} path
 * @param {string | Uint8Array} contents
 */
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, contents)
  renameSync(temporary, path)
}

/** @param {string} path */
function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

/** @param {string} path */
function exists(path) {
  return mtime(path) !== undefined
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const paths = bundlePaths()
    const record = await buildServerBundle(paths)
    console.log(`server bundle (${record.inputs.length} sources): ${relative(process.cwd(), paths.main) || basename(paths.main)}`)
  } catch (error) {
    if (!(error instanceof BuildFailed)) throw error
    console.error(error.message)
    process.exitCode = 1
  }
}
