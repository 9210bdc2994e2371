import { test, expect, signedIn, screenshot, adminApi, type Person } from './fixtures.ts'

// A phone held upright (390 × 844): the header is one row, the legend folds
// to one line, and the map keeps most of the screen and its controls.

let person: Person | undefined
test.afterEach(async () => {
  await person?.context.close()
  person = undefined
})

const PHONE = { width: 390, height: 844 }

test('the header is one row with a Menu, the legend is folded, and the map has most of the screen', async ({ browser }) => {
  // an open alert, so the header's count has its longest words ("1 open alert" and up)
  const admin = await adminApi()
  const [lon, lat] = [-12 + Math.random(), 30]
  const square = [[[lon - 0.2, lat - 0.2], [lon + 0.2, lat - 0.2], [lon + 0.2, lat + 0.2], [lon - 0.2, lat + 0.2], [lon - 0.2, lat - 0.2]]]
  expect((await admin('POST', '/api/areas', { type: 'Feature', geometry: { type: 'Polygon', coordinates: square }, properties: { name: 'Phone harbour', severity: 'high' } })).status).toBe(201)
  expect((await admin('POST', '/api/incidents', { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name: 'Phone alarm', description: '', severity: 'urgent' } })).status).toBe(201)
  person = await signedIn(browser, 'operator')
  const { page } = person
  await page.setViewportSize(PHONE)
  await page.reload()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()

  const header = page.locator('header.top')
  const title = header.locator('h1')
  const menu = page.getByTestId('header-menu')
  await expect(menu).toBeVisible()
  await expect(page.getByTestId('connection-state')).toBeVisible()
  await expect(page.getByTestId('open-alerts')).toContainText('open alert')
  // one row: the header is no taller than its tallest item and its padding
  const headerBox = (await header.boundingBox())!
  const menuBox = (await menu.boundingBox())!
  expect(headerBox.height).toBeLessThan(menuBox.height + 20)
  expect(Math.abs(((await title.boundingBox())!.y + (await title.boundingBox())!.height / 2) - (menuBox.y + menuBox.height / 2))).toBeLessThan(6)
  await expect(page.getByTestId('sign-out')).toBeHidden()

  // the legend is one line until opened
  const legend = page.getByTestId('legend')
  const map = (await page.getByTestId('map').boundingBox())!
  expect((await legend.boundingBox())!.height).toBeLessThan(40)
  expect(map.height).toBeGreaterThan(PHONE.height * 0.5)
  await legend.locator('summary').click()
  await expect(legend).toContainText('urgent')
  await screenshot(page, 'phone-dashboard')

  // the menu opens with everything else in it, by touch or keyboard, and closes with Escape
  await menu.click()
  await expect(menu).toHaveAttribute('aria-expanded', 'true')
  await expect(page.getByTestId('sign-out')).toBeVisible()
  await expect(page.getByTestId('current-user')).toContainText(person.username)
  await screenshot(page, 'phone-menu')
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('sign-out')).toBeHidden()
  await expect(menu).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('sign-out')).toBeVisible()
})

test('the map stays usable on a phone: its zoom controls and an incident’s popup fit on screen', async ({ browser }) => {
  person = await signedIn(browser, 'viewer')
  const { page } = person
  await page.setViewportSize(PHONE)
  const [lon, lat] = [-16, 28]
  const created = await (await adminApi())('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name: `Wildfire ${Date.now() % 100000}`, description: 'north slope', severity: 'urgent' },
  })
  const id = ((await created.json()) as { properties: { id: number } }).properties.id
  await page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 11, { animate: false }), [lon, lat])
  await expect(page.getByRole('button', { name: 'Zoom in' })).toBeInViewport()
  await page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
  const popup = page.getByTestId('incident-popup')
  await expect(popup).toBeVisible()
  const box = (await popup.boundingBox())!
  expect(box.x).toBeGreaterThanOrEqual(0)
  expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width)
})
