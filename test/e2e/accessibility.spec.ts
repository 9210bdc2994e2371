import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { test, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'

// axe-core (the engine behind most accessibility checkers) on the views an
// operations room uses: no serious or critical violation of WCAG 2.1 A/AA.
// Each finding is listed with the rule, its impact and the elements, so a
// failure says what to fix.

const run = Date.now() % 100000
let person: Person | undefined

test.afterEach(async () => {
  await person?.context.close()
  person = undefined
})

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(' | ')}`)
}

test('the sign-in page', async ({ page }) => {
  await page.goto('/')
  await expect(page.getByTestId('login-form')).toBeVisible()
  expect(await seriousViolations(page)).toEqual([])
})

test('the viewer’s dashboard', async ({ browser }) => {
  person = await signedIn(browser, 'viewer')
  expect(await seriousViolations(person.page)).toEqual([])
})

test('the operator’s dashboard with an incident’s popup open', async ({ browser }) => {
  person = await signedIn(browser, 'operator')
  // a place of its own: a second incident on the same spot would be a cluster, not a pin
  const [lon, lat] = [-20 + (run % 1000) / 100, 64]
  const admin = await adminApi()
  const created = await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name: `Ash cloud ${run}`, description: 'over the north road', severity: 'high' },
  })
  const id = ((await created.json()) as { properties: { id: number } }).properties.id
  await person.page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 12, { animate: false }), [lon, lat])
  await person.page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
  await expect(person.page.getByTestId('incident-popup')).toBeVisible()
  // the popup fades in (0.2 s): half-faded text would be judged on contrast it does not keep
  await expect.poll(() => person!.page.locator('.leaflet-popup').evaluate((el) => getComputedStyle(el).opacity)).toBe('1')
  expect(await seriousViolations(person.page)).toEqual([])
  await screenshot(person.page, 'dashboard-desktop')
})

test('the drawing mode, with its panel and a corner placed', async ({ browser }) => {
  person = await signedIn(browser, 'operator')
  const { page } = person
  await page.getByTestId('draw-area').click()
  await expect(page.getByTestId('draw-area')).toHaveAttribute('aria-pressed', 'true')
  const map = (await page.getByTestId('map').boundingBox())!
  await page.mouse.click(map.x + map.width / 2, map.y + map.height / 2)
  expect(await seriousViolations(page)).toEqual([])
})

test('the users page, as an admin sees it', async ({ browser }) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  try {
    await page.goto('/')
    await page.getByLabel('Username').fill('admin')
    await page.getByLabel('Password').fill(process.env.E2E_ADMIN_PASSWORD!)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.locator('body[data-ready=true]')).toBeAttached()
    await page.getByRole('button', { name: 'Users', exact: true }).click()
    await expect(page.getByRole('dialog', { name: 'Users' }).getByTestId('user-row').first()).toBeVisible()
    expect(await seriousViolations(page)).toEqual([])
  } finally {
    await context.close()
  }
})
