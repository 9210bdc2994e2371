import { test, expect, signedIn, type Person } from './fixtures.ts'

// The base map's tiles are placed by the dashboard's own code (base-map.ts
// rewrites Leaflet's 3D offsets as 2D ones, for software compositing): every
// tile must still sit exactly where the map projects its corner, after a pan
// and a zoom too. The tile server is out of reach here, so the images don't
// load, but their elements are laid out all the same.

let viewer: Person

test.beforeAll(async ({ browser }) => {
  viewer = await signedIn(browser, 'viewer')
})
test.afterAll(async () => {
  await viewer?.context.close()
})

/** For each tile of the current zoom: how far (px) its top left corner is from where the map projects that tile's corner. */
async function tileOffsets(): Promise<number[]> {
  return viewer.page.evaluate(() => {
    const map = (window as any).__map__
    const zoom = map.getZoom()
    const origin = map.getContainer().getBoundingClientRect()
    const offsets: number[] = []
    for (const tile of document.querySelectorAll<HTMLImageElement>('img.leaflet-tile')) {
      const [z, x, y] = new URL(tile.src).pathname.match(/(\d+)\/(\d+)\/(\d+)\.png$/)!.slice(1).map(Number) as [number, number, number]
      if (z !== zoom) continue // a level fading out
      const expected = map.latLngToContainerPoint(map.unproject([x * 256, y * 256], z))
      const box = tile.getBoundingClientRect()
      offsets.push(Math.hypot(box.left - origin.left - expected.x, box.top - origin.top - expected.y))
    }
    return offsets
  })
}

/** Once the tiles of the view are laid out: at least the ~4 by 3 the view holds, each exactly where the map projects it. */
async function expectTilesInPlace() {
  await expect(async () => {
    const offsets = await tileOffsets()
    expect(offsets.length).toBeGreaterThanOrEqual(12)
    expect(Math.max(...offsets)).toBeLessThan(1)
  }).toPass({ timeout: 10_000 })
}

test('base map tiles sit where the map projects them, after panning and zooming too', async () => {
  const page = viewer.page
  const moveEnd = () => page.evaluate(() => new Promise<void>((resolve) => (window as any).__map__.once('moveend', () => resolve())))

  let moved = moveEnd()
  await page.evaluate(() => (window as any).__map__.setView([20, 10], 5, { animate: false }))
  await moved
  await expectTilesInPlace()

  moved = moveEnd()
  await page.evaluate(() => (window as any).__map__.panBy([123, 45]))
  await moved
  await expectTilesInPlace()

  moved = moveEnd()
  await page.evaluate(() => (window as any).__map__.setZoom(6))
  await moved
  await expectTilesInPlace()
})
