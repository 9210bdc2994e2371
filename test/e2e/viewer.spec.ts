import { test, expect, signedIn, adminApi, screenshot, pointOnMap, type Person } from './fixtures.ts'
import type { Page } from '@playwright/test'

// A viewer watches: no drawing, no reporting, no editing, and the API says no
// even when asked directly with the viewer's own session.

let viewer: Person
const run = Date.now() % 100000

/** A spot of its own for each test's incident (on a half-degree grid in an empty stretch of Asia), so no other pin clusters with it, however often the tests run. */
function freeSpot(): [number, number] {
  return [80 + Math.floor(Math.random() * 80) / 2, 26 + Math.floor(Math.random() * 36) / 2]
}

async function createIncident(name: string, lon: number, lat: number) {
  const admin = await adminApi()
  const created = await admin('POST', '/api/incidents', {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: { name, description: 'Seen by a viewer', severity: 'high' },
  })
  expect(created.status).toBe(201)
  return ((await created.json()) as { properties: { id: number } }).properties.id
}

test.beforeAll(async ({ browser }) => {
  viewer = await signedIn(browser, 'viewer')
})
test.afterAll(async () => {
  await viewer?.context.close()
})

async function pinCentre(page: Page, id: number) {
  const box = (await page.locator(`.incident-pin[data-incident-id="${id}"]`).boundingBox())!
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
}

async function incidentOnServer(id: number) {
  const admin = await adminApi()
  const response = await admin('GET', `/api/incidents/${id}`)
  expect(response.status).toBe(200)
  return (await response.json()) as { geometry: { coordinates: [number, number] }; properties: { version: number; closed: boolean } }
}

test('a viewer can look but not draw, report, edit or move; the API refuses the viewer too', async () => {
  const page = viewer.page
  const [lon, lat] = freeSpot()
  const incidentName = `Landslide ${run}`
  const incidentId = await createIncident(incidentName, lon, lat)
  await page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 8, { animate: false }), [lon, lat])
  const pin = page.locator(`.incident-pin[data-incident-id="${incidentId}"]`)
  await expect(pin).toBeVisible()
  await expect(page.getByTestId('current-user')).toHaveText(`${viewer.username} (viewer)`)

  // no drawing tool
  await expect(page.getByTestId('draw-area')).toHaveCount(0)

  // a click on the map opens no "Report an incident" dialog
  const mapBox = (await page.getByTestId('map').boundingBox())!
  const empty = await pointOnMap(page, lon + 0.8, lat - 0.5)
  await page.mouse.click(mapBox.x + empty.x, mapBox.y + empty.y)

  // the marker's details open, without edit/close/delete
  await pin.click()
  const popup = page.getByTestId('incident-popup')
  await expect(popup).toBeVisible()
  // the page handles clicks in order: by the time the pin's popup is open, the
  // map click before it has been handled, and it opened nothing
  await expect(page.getByTestId('form-dialog')).toHaveCount(0)
  await expect(popup).toContainText(incidentName)
  for (const testId of ['edit-incident', 'close-incident', 'reopen-incident', 'delete-incident']) await expect(page.getByTestId(testId)).toHaveCount(0)
  // the one button a viewer gets reads, never writes: the incident's history
  await expect(popup.getByRole('button')).toHaveText(['History'])
  await screenshot(page, 'viewer-view')
  await page.locator('.leaflet-popup-close-button').click()
  await expect(popup).toHaveCount(0)

  // the marker is not draggable: dragging it pans the map, and it stays on its spot
  const before = await incidentOnServer(incidentId)
  await expect(page.locator('.leaflet-marker-icon', { has: pin })).not.toHaveClass(/leaflet-marker-draggable/)
  const start = await pinCentre(page, incidentId)
  await page.mouse.move(start.x, start.y)
  await page.mouse.down()
  await page.mouse.move(start.x + 40, start.y + 30, { steps: 5 })
  await page.mouse.move(start.x + 80, start.y + 60, { steps: 5 })
  await page.mouse.up()
  // still at [lon, lat] on the (panned) map; polled, since the pan coasts on (Leaflet's inertia) after the
  // mouse is released and the pin and the map's projection are read a few ms apart while it does
  const offset = async () => {
    const [pin, expected] = [await pinCentre(page, incidentId), await pointOnMap(page, lon, lat)]
    return Math.max(Math.abs(pin.x - (mapBox.x + expected.x)), Math.abs(pin.y - (mapBox.y + expected.y)))
  }
  await expect.poll(offset).toBeLessThan(3)
  const after = await pinCentre(page, incidentId)
  expect(after.x - start.x).toBeGreaterThan(40) // the drag happened: it moved the whole map, pin included
  expect(after.y - start.y).toBeGreaterThan(30)
  await expect(page.getByTestId('form-dialog')).toHaveCount(0)
  await expect(page.getByTestId('error-toast')).toHaveCount(0)
  expect(await incidentOnServer(incidentId)).toEqual(before)

  // the API refuses the viewer's own session (the cookie this context holds)
  const listed = await page.request.get('/api/incidents?limit=1')
  expect(listed.status()).toBe(200) // the session is there and works for reading
  const refused = await page.request.post('/api/incidents', {
    data: {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [lon + 0.2, lat + 0.2] },
      properties: { name: `Viewer sneaks one in ${run}`, description: '', severity: 'low' },
    },
  })
  expect(refused.status()).toBe(403)
  expect(((await refused.json()) as { detail: string }).detail).toContain('operator')
  const patched = await page.request.patch(`/api/incidents/${incidentId}`, { data: { properties: { closed: true, version: before.properties.version } } })
  expect(patched.status()).toBe(403)
  const deleted = await page.request.delete(`/api/incidents/${incidentId}`)
  expect(deleted.status()).toBe(403)
  expect(await incidentOnServer(incidentId)).toEqual(before)
  const admin = await adminApi()
  const all = (await (await admin('GET', '/api/incidents?limit=10000')).json()) as { features: { properties: { name: string } }[] }
  expect(all.features.filter((f) => f.properties.name === `Viewer sneaks one in ${run}`)).toEqual([])

  expect(viewer.errors).toEqual([])
})

test('at tablet width (800x1000) the map and the sidebar are both visible', async () => {
  const page = viewer.page
  const [lon, lat] = freeSpot()
  const incidentId = await createIncident(`Rockfall ${run}`, lon, lat)
  await page.setViewportSize({ width: 800, height: 1000 })
  const map = page.getByTestId('map')
  const aside = page.locator('aside')
  await expect(map).toBeVisible()
  await expect(aside).toBeVisible()
  await expect(page.getByTestId('tab-incidents')).toBeVisible()
  await expect(page.getByTestId('connection-state')).toHaveText('connected')
  // both on screen, side by side or stacked, neither covering the other, each a usable size
  const m = (await map.boundingBox())!
  const a = (await aside.boundingBox())!
  for (const box of [m, a]) {
    expect(box.x).toBeGreaterThanOrEqual(0)
    expect(box.y).toBeGreaterThanOrEqual(0)
    expect(box.x + box.width).toBeLessThanOrEqual(800 + 0.5)
    expect(box.y + box.height).toBeLessThanOrEqual(1000 + 0.5)
    expect(box.width).toBeGreaterThan(200)
    expect(box.height).toBeGreaterThan(200)
  }
  const overlapX = Math.min(m.x + m.width, a.x + a.width) - Math.max(m.x, a.x)
  const overlapY = Math.min(m.y + m.height, a.y + a.height) - Math.max(m.y, a.y)
  expect(overlapX <= 0.5 || overlapY <= 0.5).toBe(true)
  // the map fills its box (Leaflet noticed the resize) and still shows the incident
  await page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 8, { animate: false }), [lon, lat])
  await expect(page.locator(`.incident-pin[data-incident-id="${incidentId}"]`)).toBeInViewport()
  await screenshot(page, 'viewer-tablet')
  expect(viewer.errors).toEqual([])
})
