import { test, view, expect, signedIn, adminApi, pointOnMap, screenshot, type Person } from './fixtures.ts'
import type { Page } from '@playwright/test'

// Touch and keyboard: an incident can be reported without a mouse (the
// "Report incident" tool, with typed coordinates or the map's centre, shown
// before saving); area actions are reachable by tap and by keyboard; a
// stray tap on the map opens nothing.

let operator: Person
const run = Date.now() % 100000

test.afterEach(async () => {
  await operator?.context.close()
})

/** Tab (never the mouse) until `testId` has the focus. */
async function tabTo(page: Page, testId: string) {
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate((id) => document.activeElement?.getAttribute('data-testid') === id, testId)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`${testId} is not reachable with Tab`)
}

async function incidentsNamed(name: string) {
  const admin = await adminApi()
  const { features } = (await (await admin('GET', '/api/incidents?limit=10000')).json()) as {
    features: { geometry: { coordinates: [number, number] }; properties: { id: number; name: string } }[]
  }
  return features.filter((f) => f.properties.name === name)
}

async function areaAround(lon: number, lat: number, half: number, name: string) {
  const admin = await adminApi()
  const ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]
  const response = await admin('POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { name } })
  expect(response.status).toBe(201)
  return ((await response.json()) as { properties: { id: number } }).properties.id
}

async function areaOnServer(id: number) {
  const admin = await adminApi()
  return admin('GET', `/api/areas/${id}`)
}

test('an incident is reported with the keyboard alone: typed coordinates, then the map centre, each shown before saving', async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  const page = operator.page
  await view(page, 12, 41.9, 8)

  // typed coordinates
  await page.locator('body').focus()
  await tabTo(page, 'report-incident')
  await page.keyboard.press('Enter')
  const panel = page.getByTestId('mode-panel')
  await expect(panel).toBeVisible()
  // the map's centre to begin with, marked on the map
  await expect(panel.getByLabel('Latitude')).toHaveValue('41.90000')
  await expect(panel.getByLabel('Longitude')).toHaveValue('12.00000')
  await expect(page.getByTestId('report-pin')).toBeVisible()
  await expect(panel.getByLabel('Latitude')).toBeFocused()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type('41.95')
  await page.keyboard.press('Tab')
  await expect(panel.getByLabel('Longitude')).toBeFocused()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type('12.05')
  await page.keyboard.press('Enter')

  const dialog = page.getByTestId('form-dialog')
  await expect(dialog.getByRole('heading')).toHaveText('Report an incident')
  await expect(dialog.getByLabel('Location (latitude, longitude)')).toHaveValue('41.95000, 12.05000')
  await expect(dialog.getByLabel('Name')).toBeFocused()
  const typedName = `Burst pipe ${run}`
  await page.keyboard.type(typedName)
  await page.keyboard.press('Enter')
  await expect(dialog).toBeHidden()
  await expect(panel).toBeHidden()
  await expect.poll(async () => (await incidentsNamed(typedName)).length).toBe(1)
  const [typed] = await incidentsNamed(typedName)
  expect(typed!.geometry.coordinates[0]).toBeCloseTo(12.05, 6)
  expect(typed!.geometry.coordinates[1]).toBeCloseTo(41.95, 6)
  await expect(page.locator(`.incident-pin[data-incident-id="${typed!.properties.id}"]`)).toBeVisible()
  await expect(page.getByTestId('report-incident')).toBeFocused() // back where the report began

  // the map's centre: Enter at once
  await page.keyboard.press('Enter')
  await expect(panel.getByLabel('Latitude')).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(dialog.getByLabel('Location (latitude, longitude)')).toHaveValue('41.90000, 12.00000')
  const centreName = `Fallen tree ${run}`
  await page.keyboard.type(centreName)
  await page.keyboard.press('Enter')
  await expect(dialog).toBeHidden()
  await expect.poll(async () => (await incidentsNamed(centreName)).length).toBe(1)
  const [centred] = await incidentsNamed(centreName)
  expect(centred!.geometry.coordinates[0]).toBeCloseTo(12, 6)
  expect(centred!.geometry.coordinates[1]).toBeCloseTo(41.9, 6)

  // Escape leaves the mode, and a place that is no place is refused in words
  await page.keyboard.press('Enter')
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type('95')
  await page.keyboard.press('Enter')
  await expect(panel.getByTestId('mode-message')).toHaveText('Latitude must be a number from -90 to 90 (got “95”).')
  await expect(dialog).toHaveCount(0)
  await page.keyboard.press('Escape')
  await expect(panel).toBeHidden()
  await expect(page.getByTestId('report-pin')).toHaveCount(0)
  expect(operator.errors).toEqual([])
})

test("an area's actions are reached with the keyboard from the Areas list", async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  const page = operator.page
  const name = `Harbour ${run}`
  const id = await areaAround(-5, 36, 0.3, name)

  await page.getByTestId('tab-areas').focus()
  await page.keyboard.press('Enter')
  const item = page.locator(`[data-testid=area-item][data-area-id="${id}"]`).getByRole('button', { name })
  await item.focus()
  await page.keyboard.press('Enter')
  const popup = page.getByTestId('area-popup')
  await expect(popup).toContainText(name)
  // the focus is in the popup: its buttons are real ones
  await expect(popup.getByRole('button', { name: 'Edit', exact: true })).toBeFocused()
  await page.keyboard.press('Enter')
  const dialog = page.getByTestId('form-dialog')
  await expect(dialog.getByRole('heading')).toHaveText('Edit area of interest')
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type(`${name} east`)
  await page.keyboard.press('Enter')
  await expect(dialog).toBeHidden()
  await expect.poll(async () => ((await (await areaOnServer(id)).json()) as { properties: { name: string } }).properties.name).toBe(`${name} east`)
  expect(operator.errors).toEqual([])
})

test('on a touch screen a stray tap opens nothing, a tap on an area opens its actions, and it can be edited and deleted', async ({ browser }) => {
  operator = await signedIn(browser, 'operator', { hasTouch: true })
  const page = operator.page
  const [lon, lat] = [20, 55]
  const name = `Dune field ${run}`
  const id = await areaAround(lon, lat, 0.4, name)
  await view(page, lon, lat, 8)
  const box = (await page.getByTestId('map').boundingBox())!
  const tapAt = async (x: number, y: number) => {
    const at = await pointOnMap(page, x, y)
    await page.touchscreen.tap(box.x + at.x, box.y + at.y)
  }

  // a stray tap beside the area: no report form, no popup
  await tapAt(lon + 1, lat)
  // a tap on the area: its popup, with its actions (so the stray tap, before it, was handled and opened nothing)
  await tapAt(lon, lat)
  const popup = page.getByTestId('area-popup')
  await expect(popup).toContainText(name)
  await expect(page.getByTestId('form-dialog')).toHaveCount(0)
  await expect(page.locator('.leaflet-popup')).toHaveCount(1)
  await screenshot(page, 'touch-area-popup')

  await popup.getByRole('button', { name: 'Edit', exact: true }).tap()
  const dialog = page.getByTestId('form-dialog')
  await dialog.getByLabel('Name').fill(`${name} north`)
  await dialog.getByRole('button', { name: 'Save' }).tap()
  await expect(dialog).toBeHidden()
  await expect.poll(async () => ((await (await areaOnServer(id)).json()) as { properties: { name: string } }).properties.name).toBe(`${name} north`)

  // Edit shape by tap shows its Save shape / Cancel
  await expect(page.locator('.leaflet-popup')).toHaveCount(0)
  await tapAt(lon, lat)
  await popup.getByRole('button', { name: 'Edit shape' }).tap()
  const panel = page.getByTestId('mode-panel')
  await expect(panel.getByRole('button', { name: 'Save shape' })).toBeVisible()
  await panel.getByRole('button', { name: 'Cancel' }).tap()
  await expect(panel).toBeHidden()

  await expect(page.locator('.leaflet-popup')).toHaveCount(0)
  await tapAt(lon, lat)
  page.once('dialog', (confirm) => void confirm.accept())
  await popup.getByRole('button', { name: 'Delete' }).tap()
  await expect.poll(async () => (await areaOnServer(id)).status).toBe(404)
  await expect(page.locator(`path.area-${id}`)).toHaveCount(0)

  // the report mode by tap: a tap on the map places it and opens the form
  await expect(page.locator('.leaflet-popup')).toHaveCount(0) // faded out: it no longer covers the map
  // the popups' auto-pan and Edit shape's fit moved the map: centred again, so the tap is clear of the legend (a tap on it is not one on the map)
  await view(page, lon, lat, 8)
  await page.getByTestId('report-incident').tap()
  await tapAt(lon - 0.2, lat - 0.1) // down and left of the centre: the tools' panel is up on the right
  await expect(dialog.getByRole('heading')).toHaveText('Report an incident')
  // where the tap was, to a pixel or so
  const [tappedLat, tappedLon] = (await dialog.getByLabel('Location (latitude, longitude)').inputValue()).split(', ').map(Number)
  expect(Math.abs(tappedLat! - (lat - 0.1))).toBeLessThan(0.01)
  expect(Math.abs(tappedLon! - (lon - 0.2))).toBeLessThan(0.01)
  await dialog.getByRole('button', { name: 'Cancel' }).tap()
  // cancelled: back to placing it, and Cancel leaves the mode
  await screenshot(page, 'touch-report-placed')
  await page.getByTestId('mode-panel').getByRole('button', { name: 'Cancel' }).tap()
  await expect(panel).toBeHidden()
  await expect(dialog).toHaveCount(0)
  expect(operator.errors).toEqual([])
})
