import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The project's own folder (the one with its package.json), for files found
// at run time: the built dashboard, the slim PostGIS bundle in node_modules.
//
// Not `new URL('../..', import.meta.url)`: `npm start` runs the server from a
// bundle in node_modules/.cache/incident-tracker/server/ (see
// server/bundle.mjs), where import.meta.url is the bundle's, not the source
// file's, so a path relative to it lands somewhere else. Walking up to our
// package.json finds the same folder from the source tree (tsx, vitest) and
// from the bundle alike.

const PACKAGE_NAME = 'incident-tracker'

export function findProjectRoot(from: string | URL): string {
  let dir = dirname(fileURLToPath(from))
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }
      if (manifest.name === PACKAGE_NAME) return dir
    } catch {
      // no package.json here (or not ours): keep climbing
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json named "${PACKAGE_NAME}" above ${fileURLToPath(from)}`)
    dir = parent
  }
}

/** The folder holding the project's package.json. */
export const PROJECT_ROOT = findProjectRoot(import.meta.url)
