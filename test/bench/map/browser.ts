import { chromium, type Browser } from '@playwright/test'

/**
 * Debian's chromium, started the way playwright.config.ts starts it for the
 * end-to-end tests (the same flags and one more, below; never a downloaded browser). Kept as a copy
 * rather than imported: the config picks a port and writes the environment at
 * import time.
 *
 * `--disable-gpu` matters for what the numbers mean: compositing and raster
 * run in software on the CPU, which the server, PostgreSQL and the poster
 * share on this machine.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The baseline page's own files are answered by the browser context
  // (map/markercluster-build.ts), which leaves Chromium no address to judge
  // the page by; its Local Network Access checks would then refuse the
  // page's socket to the loopback server. Off for every page alike.
  '--disable-features=LocalNetworkAccessChecks',
]

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

/**
 * The base map's tile URL for the benchmark: one transparent 1×1 GIF for
 * every tile, inline. Tiles are not what is measured, the test machines reach
 * no tile server, and a data: URL costs neither the server nor the network
 * anything (intercepting requests with Playwright would slow every request
 * of the page, the incident pages included). The bundled world outline shows
 * through, as it does offline.
 */
export const BLANK_TILE_URL = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7'
