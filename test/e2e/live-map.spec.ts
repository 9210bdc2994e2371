import { test, expect, signedIn, adminApi, screenshot, pointOnMap, type Person } from './fixtures.ts'
import { ALERT_PAGE } from '../../web/src/alert-log.ts'
import { MAX_TOASTS } from '../../web/src/ui/notifier.ts'
import { REBUILD_TIMING } from '../../web/src/map/rebuild-pacer.ts'
import { groupDigits } from '../../web/src/ui/incident-count.ts'

// An operator and a viewer, each in their own browser context, on one server.

let operator: Person
let viewer: Person

test.beforeAll(async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  viewer = await signedIn(browser, 'viewer')
})
test.afterAll(async () => {
  await operator?.context.close()
  await viewer?.context.close()
})

async function areaAround(lon: number, lat: number, half: number, name: string, severity = 'high') {
  const admin = await adminApi()
  const response = await admin('POST', '/api/areas', {
    type: 'Feature',
    properties: { name, severity },
    geometry: { type: 'Polygon', coordinates: [[[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]] },
  })
  expect(response.status).toBe(201)
  return (await response.json()) as { properties: { id: number } }
}

test('an operator reports inside an area; the viewer sees the marker and the alert live, then the close', async () => {
  await areaAround(10, 45, 2, 'Alpine pass')
  for (const p of [operator.page, viewer.page]) await p.evaluate(() => (window as any).__map__.setView([45, 10], 6, { animate: false }))

  const at = await pointOnMap(operator.page, 10.3, 45.2)
  // the Report incident tool, then a click where it happened (inside the area: the click is the report's, not the area's)
  await operator.page.getByTestId('report-incident').click()
  await operator.page.getByTestId('map').click({ position: at })
  const dialog = operator.page.getByTestId('form-dialog')
  await dialog.getByLabel('Name').fill('Avalanche on the pass')
  await dialog.getByLabel('Description').fill('Road blocked')
  await dialog.getByLabel('Severity').selectOption('urgent')
  await dialog.getByRole('button', { name: 'Save' }).click()
  await expect(dialog).toBeHidden()

  // the viewer, without reloading: the marker, the notice, the alerts panel
  const item = viewer.page.getByTestId('alert-item').filter({ hasText: 'Avalanche on the pass' })
  await expect(viewer.page.getByTestId('alert-toast').filter({ hasText: 'Avalanche on the pass' })).toBeVisible()
  await expect(viewer.page.getByTestId('alert-toast').filter({ hasText: 'Alpine pass' })).toBeVisible()
  await expect(item).toHaveCount(1)
  const id = await item.getAttribute('data-incident-id')
  await expect(viewer.page.locator(`.incident-pin[data-incident-id="${id}"]`)).toBeVisible()
  await screenshot(viewer.page, 'viewer-alerted')

  // the operator closes it from the marker's popup; the viewer's marker changes
  await operator.page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
  await operator.page.getByTestId('close-incident').click()
  await expect(viewer.page.locator(`.incident-pin[data-incident-id="${id}"]`)).toHaveAttribute('data-closed', 'true')
  // and the alert it raised, in the log, says why it no longer stands
  await expect(item.getByTestId('alert-state')).toHaveText('resolved: incident closed')
  await screenshot(operator.page, 'operator-map')
  expect(operator.errors).toEqual([])
  expect(viewer.errors).toEqual([])
})

test('a burst of alerts: the log shows the newest page and counts the open ones, older ones load on request, and a few notices stay on screen', async () => {
  await areaAround(-60, -30, 1, 'Burst zone', 'low')
  const admin = await adminApi()
  const openNow = async () => ((await (await admin('GET', '/api/alerts/summary')).json()) as { by_state: { open: number } }).by_state.open
  // the count is the server's: settled on it before the burst
  const before = await openNow()
  await expect(viewer.page.getByTestId('alert-count')).toHaveText(String(before))
  const burst = ALERT_PAGE + 30
  for (let i = 1; i <= burst; i++) {
    const response = await admin('POST', '/api/incidents', {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [-60 + (i % 10) / 20, -30] },
      properties: { name: `Burst ${i}`, severity: 'medium' },
    })
    expect(response.status).toBe(201)
  }

  // every one of them is an open alert, on the tab and in the header
  const panel = viewer.page.getByTestId('alerts-panel')
  expect(await openNow()).toBe(before + burst)
  await expect(viewer.page.getByTestId('alert-count')).toHaveText(String(before + burst))
  await expect(viewer.page.getByTestId('open-alert-count')).toHaveText(String(before + burst))
  // the log holds the newest page, newest first…
  const items = panel.getByTestId('alert-item')
  await expect(items).toHaveCount(ALERT_PAGE)
  await expect(items.first()).toContainText(new RegExp(`Burst ${burst}\\b`))
  await expect(items.last()).toContainText(new RegExp(`Burst ${burst - ALERT_PAGE + 1}\\b`))
  // …and reads the older ones when asked, in order after them
  await panel.getByTestId('alerts-load-older').click()
  await expect(items.nth(ALERT_PAGE)).toContainText(new RegExp(`Burst ${burst - ALERT_PAGE}\\b`))
  await expect(items.nth(burst - 1)).toContainText(/Burst 1\b/)
  expect(await viewer.page.getByTestId('alert-toast').count()).toBeLessThanOrEqual(MAX_TOASTS)
  await expect(viewer.page.getByTestId('alert-toast').first()).toContainText(`Burst ${burst}`)
  expect(viewer.errors).toEqual([])
})

test('a live incident joins the map while it is being dragged, without waiting for the map to stop or for the clusters to be rebuilt', async () => {
  const page = viewer.page
  const admin = await adminApi()
  // a spot of its own in the Indian Ocean, at a zoom where every incident is a pin
  const [lon, lat] = [60 + Math.floor(Math.random() * 40) / 2, -30 + Math.floor(Math.random() * 30) / 2]
  await page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 15, { animate: false }), [lon, lat])
  const report = async (name: string, dLon: number) => {
    const created = await admin('POST', '/api/incidents', {
      type: 'Feature', geometry: { type: 'Point', coordinates: [lon + dLon, lat] }, properties: { name, severity: 'low' },
    })
    expect(created.status).toBe(201)
    return ((await created.json()) as { properties: { id: number } }).properties.id
  }
  const pin = (id: number) => page.locator(`.incident-pin[data-incident-id="${id}"]`)
  const count = page.getByTestId('incident-count')

  // on a still map, a report shows within a second or so
  const first = await report('Buoy adrift', 0)
  await expect(pin(first)).toBeVisible()

  // now the map is dragged back and forth without pause, through the mouse
  const box = (await page.locator('#map').boundingBox())!
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2]
  let dragging = true
  const drags = (async () => {
    await page.mouse.move(x, y)
    await page.mouse.down()
    for (let step = 0; dragging; step++) {
      await page.mouse.move(x + (step % 2 ? -40 : 40), y, { steps: 8 })
    }
    await page.mouse.up()
  })()
  try {
    const counted = Number((await count.textContent())!.replace(/\s/g, '')) // thousands are set apart (ui/incident-count.ts)
    const moving = await report('Second buoy adrift', 0.001)
    await expect(count).toHaveText(groupDigits(counted + 1))
    // well before the clusters would be rebuilt for it on a map that keeps moving
    await expect(pin(moving)).toBeVisible({ timeout: REBUILD_TIMING.whileMovingMs / 2 })
    expect(await page.evaluate(() => document.body.classList.contains('leaflet-dragging'))).toBe(true) // still under the mouse
  } finally {
    dragging = false
    await drags
  }

  // and after the map stops, the rebuild that folds it into the clusters leaves it where it is
  const last = await report('Third buoy adrift', -0.001)
  await expect(pin(last)).toBeVisible()
  await page.waitForTimeout(REBUILD_TIMING.stillMs + 1500)
  await expect(pin(last)).toBeVisible()
  expect(viewer.errors).toEqual([])
})
