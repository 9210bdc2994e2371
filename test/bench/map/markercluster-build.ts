import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, normalize, sep } from 'node:path'
import type { BrowserContext } from '@playwright/test'
import { build } from 'vite'
import { ROOT } from '../../helpers/server-process.ts'

/** Where the baseline page is opened: on the server's origin, beside the dashboard. */
export const MARKERCLUSTER_PATH = '/bench-markercluster/index.html'

const SOURCE = join(ROOT, 'test/bench/map/markercluster')
// not in web/dist: whatever is there, the product's server serves to anyone (and its route list would grow)
const OUT = join(ROOT, 'node_modules/.cache/incident-tracker/bench-markercluster')

function newest(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

/**
 * Builds the Leaflet.markercluster page with Vite, as the dashboard is
 * built, into a folder of the benchmark's own.
 */
export async function ensureMarkerclusterBuilt(log: (line: string) => void): Promise<void> {
  const built = existsSync(join(OUT, 'index.html')) ? statSync(join(OUT, 'index.html')).mtimeMs : 0
  const sources = Math.max(newest(SOURCE), newest(join(ROOT, 'web/src/map/base-map.ts')), newest(join(ROOT, 'node_modules/leaflet.markercluster/package.json')))
  if (built > sources) return
  log('building the Leaflet.markercluster page')
  await build({
    configFile: false,
    root: SOURCE,
    base: '/bench-markercluster/',
    logLevel: 'warn',
    build: { outDir: OUT, emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  })
}

/**
 * Serves the built page and its assets to a browser context at
 * `<origin>/bench-markercluster/…`, from the benchmark's folder, so it is on
 * the server's origin: the same cookie signs it in, and its API reads and
 * socket go to the server. Only the page's own files are answered here
 * (without the server's security headers, which change nothing measured).
 * Resolves with the undo: while a route is set, Playwright holds every
 * request of the context, so it is taken off once the page has loaded.
 */
export async function serveMarkercluster(context: BrowserContext, origin: string): Promise<() => Promise<void>> {
  const pattern = `${origin}/bench-markercluster/**`
  await context.route(pattern, async (route) => {
    const relative = decodeURIComponent(new URL(route.request().url()).pathname.slice('/bench-markercluster/'.length))
    const file = normalize(join(OUT, relative))
    if (!file.startsWith(OUT + sep) || !existsSync(file) || statSync(file).isDirectory()) return route.fulfill({ status: 404, body: 'not found' })
    await route.fulfill({ path: file })
  })
  return () => context.unroute(pattern)
}
