import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Extension } from '@electric-sql/pglite'
import { PROJECT_ROOT } from '../project-root.ts'

/**
 * The PostGIS extension for the embedded PGlite, loaded from the slim bundle
 * when there is a valid one.
 *
 * PGlite compiles every `.so` in an extension's bundle each time it opens a
 * database, used or not. The published PostGIS bundle carries raster and
 * topology too: most of its WebAssembly, and a large share of the CPU time
 * PGlite takes to reopen a database (docs/performance-log.md).
 * `db/slim-postgis-bundle.ts` (run by `npm install`) copies the installed
 * bundle without them; this module uses that copy only if it was derived from
 * the very bundle installed now, and the full one otherwise.
 */

const SLIM_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'incident-tracker')

export interface BundlePaths {
  /** the bundle pglite-postgis ships */
  full: string
  /** the slim copy, and its manifest */
  slim: string
  manifest: string
}

export const BUNDLE_PATHS: BundlePaths = {
  // from the source tree or the server bundle alike: both are inside the project, above the same node_modules
  full: join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite-postgis')), 'postgis.tar.gz'),
  slim: join(SLIM_DIR, 'postgis-core.tar.gz'),
  manifest: join(SLIM_DIR, 'postgis-core.json'),
}

/** What the slim bundle was derived from, and what it is: written last, so a manifest means a complete bundle. */
export interface SlimManifest {
  source: { size: number; mtimeMs: number }
  bundle: { size: number }
  dropped: string[]
}

/** The installed full bundle as a manifest records it: a reinstall or an upgrade changes it. */
export function describeSource(full: string): SlimManifest['source'] {
  const { size, mtimeMs } = statSync(full)
  return { size, mtimeMs }
}

/** The slim bundle's path if it is complete and derived from the installed full bundle, else undefined. */
export function validSlimBundle(paths: BundlePaths = BUNDLE_PATHS): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8')) as SlimManifest
    const source = describeSource(paths.full)
    const matches =
      manifest.source.size === source.size &&
      manifest.source.mtimeMs === source.mtimeMs &&
      manifest.bundle.size === statSync(paths.slim).size
    return matches ? paths.slim : undefined
  } catch {
    return undefined // no slim bundle (install scripts skipped, or building it failed): the full one works
  }
}

/** pglite-postgis's extension, pointed at the slim bundle when there is a valid one. */
export async function postgisExtension(paths: BundlePaths = BUNDLE_PATHS): Promise<Extension> {
  const { postgis } = await import('@electric-sql/pglite-postgis')
  return {
    name: postgis.name,
    // the package's own setup (its environment for PostGIS), with only the bundle swapped
    async setup(pg, emscriptenOpts) {
      const result = await postgis.setup(pg, emscriptenOpts)
      // checked against the bundle the package itself names, in case it is not where we looked
      const slim = validSlimBundle({ ...paths, full: fileURLToPath(result.bundlePath) })
      return slim ? { ...result, bundlePath: pathToFileURL(slim) } : result
    },
  }
}
