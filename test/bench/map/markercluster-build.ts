import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'vite'
import { ROOT } from '../../helpers/server-process.ts'

/** Where the baseline page is served: beside the dashboard, by the same server, under the same headers. */
export const MARKERCLUSTER_PATH = '/bench-markercluster/index.html'

const SOURCE = join(ROOT, 'test/bench/map/markercluster')
const OUT = join(ROOT, 'web/dist/bench-markercluster')

function newest(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

/**
 * Builds the Leaflet.markercluster page with Vite, as the dashboard is
 * built, into web/dist (after the dashboard's own build, which empties it),
 * so the server serves both pages from one origin: the same cookie signs
 * both in, and no request of either page is intercepted on its way.
 * The server lists web/dist when it starts: build before starting it.
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
