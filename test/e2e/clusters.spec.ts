import { test, expect, signedIn, adminApi, screenshot, pointOnMap, type Person } from './fixtures.ts'

// Incidents close together show as one cluster, drawn on the incident layer's
// canvas (web/src/map/cluster-canvas.ts). The canvas takes no pointer events
// itself, so these check that the cluster still answers the mouse and that
// the map and the areas under it still do everywhere else.

let operator: Person
const run = Date.now() % 100000

test.beforeAll(async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
})
test.afterAll(async () => {
  await operator?.context.close()
})

/** A spot of its own (a half-degree grid in the empty South Atlantic), so no other test's incident joins the cluster. */
function freeSpot(): [number, number] {
  return [-30 + Math.floor(Math.random() * 40) / 2, -40 + Math.floor(Math.random() * 30) / 2]
}

/** The cluster's colour, as the canvas holds it at a container point (what is drawn there, not what the DOM says). */
async function canvasColour(x: number, y: number): Promise<[number, number, number, number]> {
  return operator.page.evaluate(([x, y]) => {
    const canvas = document.querySelector<HTMLCanvasElement>('.cluster-canvas')!
    const ratio = canvas.width / canvas.clientWidth
    return [...canvas.getContext('2d')!.getImageData(Math.round(x! * ratio), Math.round(y! * ratio), 1, 1).data] as [number, number, number, number]
  }, [x, y])
}

test('incidents close together show as one cluster: its count on hover, a click zooms in to the pins; the map and areas around it still answer', async () => {
  const page = operator.page
  const admin = await adminApi()
  const [lon, lat] = freeSpot()
  // three incidents a few hundred metres apart, inside an area of interest
  const area = await admin('POST', '/api/areas', {
    type: 'Feature',
    properties: { name: `Shipping lane ${run}`, severity: 'urgent' },
    geometry: { type: 'Polygon', coordinates: [[[lon - 0.2, lat - 0.2], [lon + 0.2, lat - 0.2], [lon + 0.2, lat + 0.2], [lon - 0.2, lat + 0.2], [lon - 0.2, lat - 0.2]]] },
  })
  expect(area.status).toBe(201)
  const ids: number[] = []
  for (const [i, [dLon, dLat]] of [[0, 0], [0.002, 0.001], [-0.001, 0.002]].entries()) {
    const created = await admin('POST', '/api/incidents', {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [lon + dLon!, lat + dLat!] },
      properties: { name: `Debris ${run}-${i}`, description: 'Floating debris', severity: 'medium' },
    })
    expect(created.status).toBe(201)
    ids.push(((await created.json()) as { properties: { id: number } }).properties.id)
  }

  await page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 9, { animate: false }), [lon, lat])
  // the three are one cluster: no pin of theirs, one cluster drawn where they are
  await expect(page.locator('.cluster-canvas')).not.toHaveAttribute('data-clusters', '0')
  for (const id of ids) await expect(page.locator(`.incident-pin[data-incident-id="${id}"]`)).toHaveCount(0)
  const centre = await pointOnMap(page, lon + 0.00033, lat + 0.001) // their centroid
  // beside the count written in the middle: the cluster's fill
  const [r, g, b, a] = await canvasColour(centre.x - 10, centre.y)
  expect({ r, g, b, a }).toEqual({ r: 0x2b, g: 0x4a, b: 0x6f, a: 255 })
  // and nothing drawn a little way off, where the area shows through
  expect((await canvasColour(centre.x + 60, centre.y))[3]).toBe(0)

  // hovering names it, and says it can be clicked
  const map = page.getByTestId('map')
  const box = (await map.boundingBox())!
  await page.mouse.move(box.x + centre.x, box.y + centre.y)
  await expect(page.locator('.cluster-tooltip')).toHaveText('3 incidents')
  await expect(map).toHaveClass(/over-cluster/)
  await screenshot(page, 'cluster-hovered')

  // the area under the canvas still opens its details on a click, away from the cluster
  await page.mouse.move(box.x + centre.x + 60, box.y + centre.y)
  await expect(page.locator('.cluster-tooltip')).toHaveCount(0)
  await expect(map).not.toHaveClass(/over-cluster/)
  await map.click({ position: { x: centre.x + 60, y: centre.y } })
  await expect(page.getByTestId('area-popup')).toContainText(`Shipping lane ${run}`)
  await page.keyboard.press('Escape')
  await page.evaluate(() => (window as any).__map__.closePopup())

  // and with the Report incident tool, a click on the map beside it still starts a report
  await page.getByTestId('report-incident').click()
  await map.click({ position: { x: centre.x + 60, y: centre.y } })
  const dialog = page.getByTestId('form-dialog')
  await expect(dialog).toBeVisible()
  await dialog.getByRole('button', { name: 'Cancel' }).click()
  await expect(dialog).toBeHidden()
  await page.getByTestId('mode-panel').getByRole('button', { name: 'Cancel' }).click()

  // the map can be dragged by a cluster like anywhere else: that pans, it is no click on the cluster
  const before = await pointOnMap(page, lon, lat)
  await page.evaluate(() => document.addEventListener('mousemove', () => ((window as any).__lastMove = performance.now()), true))
  await page.mouse.move(box.x + centre.x, box.y + centre.y)
  await page.mouse.down()
  await page.mouse.move(box.x + centre.x + 40, box.y + centre.y + 30, { steps: 5 })
  await page.mouse.move(box.x + centre.x + 80, box.y + centre.y + 60, { steps: 5 })
  // held still before letting go: Leaflet throws the map on (inertia) from
  // the moves of the last 50 ms before the release, so wait until there are none
  await expect.poll(() => page.evaluate(() => performance.now() - (window as any).__lastMove)).toBeGreaterThan(100)
  await page.mouse.up()
  await expect.poll(async () => (await pointOnMap(page, lon, lat)).x - before.x).toBeCloseTo(80, 0)
  expect(await page.evaluate(() => (window as any).__map__.getZoom())).toBe(9)
  await expect(dialog).toBeHidden()

  // a click on the cluster is the cluster's: no report dialog, the map zooms in until the three are pins
  await map.click({ position: await pointOnMap(page, lon + 0.00033, lat + 0.001) })
  await expect.poll(() => page.evaluate(() => (window as any).__map__.getZoom())).toBeGreaterThan(9)
  for (const id of ids) await expect(page.locator(`.incident-pin[data-incident-id="${id}"]`)).toBeVisible()
  await expect(dialog).toBeHidden()
  await screenshot(page, 'cluster-zoomed-in')
  expect(operator.errors).toEqual([])
})
