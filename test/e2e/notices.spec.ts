import { test, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'
import type { Page } from '@playwright/test'
import { NOTICE_MS } from '../../web/src/ui/notifier.ts'

// Notices and lists lead somewhere (issue #16, defect 5): an alert's notice and
// its entry in the alerts panel open the incident; a notice can be pinned and
// dismissed; the incident list opens the same incident as often as it is
// clicked; an open area's details follow a rename made by someone else.

const run = Date.now() % 100000
// a stretch of the Southern Ocean no other spec uses
const [lon, lat] = [-100, -60]
const people: Person[] = []
const areas: number[] = []
const incidents: number[] = []

test.afterAll(async () => {
  for (const person of people) await person.context.close()
  const admin = await adminApi()
  // other specs count the areas they drew
  for (const id of areas) expect((await admin('DELETE', `/api/areas/${id}`)).status).toBe(204)
  for (const id of incidents) await admin('DELETE', `/api/incidents/${id}`)
})

async function person(browser: Parameters<typeof signedIn>[0], role: 'viewer' | 'operator') {
  const someone = await signedIn(browser, role)
  people.push(someone)
  return someone
}

async function newArea(name: string, severity: string, dLon = 0) {
  const admin = await adminApi()
  const created = await admin('POST', '/api/areas', {
    type: 'Feature',
    properties: { name, severity },
    geometry: { type: 'Polygon', coordinates: [[[lon + dLon - 0.5, lat - 0.5], [lon + dLon + 0.5, lat - 0.5], [lon + dLon + 0.5, lat + 0.5], [lon + dLon - 0.5, lat + 0.5], [lon + dLon - 0.5, lat - 0.5]]] },
  })
  expect(created.status).toBe(201)
  const area = (await created.json()) as { properties: { id: number; version: number } }
  areas.push(area.properties.id)
  return area.properties
}

async function newIncident(name: string, severity: string, dLon = 0) {
  const admin = await adminApi()
  const created = await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon + dLon, lat] }, properties: { name, description: 'for the notices spec', severity },
  })
  expect(created.status).toBe(201)
  const { id } = ((await created.json()) as { properties: { id: number } }).properties
  incidents.push(id)
  return id
}

const popup = (page: Page) => page.getByTestId('incident-popup')
async function closePopup(page: Page) {
  await page.locator('.leaflet-popup-close-button').click()
  await expect(popup(page)).toHaveCount(0)
}

test('an alert notice and an alert in the panel each fly to the incident and open it', async ({ browser }) => {
  const { page } = await person(browser, 'operator')
  await newArea(`Shelf ${run}`, 'high')
  const name = `Iceberg adrift ${run}`
  await newIncident(name, 'urgent')

  const notice = page.getByTestId('alert-toast').filter({ hasText: name })
  await notice.getByRole('button', { name: `URGENT: ${name}` }).click()
  await expect(popup(page)).toContainText(name)
  await expect(popup(page)).toContainText('urgent')
  await closePopup(page)

  const entry = page.getByTestId('alert-item').filter({ hasText: name })
  await entry.getByRole('button', { name }).click()
  await expect(popup(page)).toContainText(name)
  await closePopup(page)
  // and again: the same entry opens it a second time
  await entry.getByRole('button', { name }).click()
  await expect(popup(page)).toContainText(name)
})

test('a pinned notice stays past the time a notice lasts, until dismissed', async ({ browser }) => {
  const { page } = await person(browser, 'viewer')
  // the page's timers run on a clock the test moves on, instead of waiting
  await page.clock.install({ time: Date.now() })
  await page.reload()
  await expect(page.getByTestId('connection-state')).toHaveText('connected')
  await newArea(`Drift ${run}`, 'high', 2)
  const kept = `Kept notice ${run}`
  const passing = `Passing notice ${run}`
  await newIncident(kept, 'urgent', 2)
  await newIncident(passing, 'urgent', 2.1)
  // a notice: its message, and its Pin and Dismiss buttons
  const notice = (text: string) => page.getByRole('group', { name: 'Notice' }).filter({ has: page.getByTestId('alert-toast').filter({ hasText: text }) })
  const keptNotice = notice(kept)
  const passingNotice = notice(passing)
  await expect(keptNotice).toBeVisible()
  await expect(passingNotice).toBeVisible()

  await keptNotice.getByRole('button', { name: 'Pin' }).click()
  await expect(keptNotice.getByRole('button', { name: 'Pin' })).toHaveAttribute('aria-pressed', 'true')
  await screenshot(page, 'notice-pinned')
  await page.clock.fastForward(NOTICE_MS + 1000)
  await expect(passingNotice).toHaveCount(0)
  await expect(keptNotice).toBeVisible()
  await page.clock.fastForward(10 * 60_000)
  await expect(keptNotice).toBeVisible()

  await keptNotice.getByRole('button', { name: 'Dismiss' }).click()
  await expect(keptNotice).toHaveCount(0)
})

test('clicking the same incident in the list twice opens it both times', async ({ browser }) => {
  const { page } = await person(browser, 'operator')
  const name = `Listed twice ${run}`
  await newIncident(name, 'low', 4)
  await page.getByTestId('tab-incidents').click()
  const item = page.getByTestId('incident-item').filter({ hasText: name }).getByRole('button', { name })
  await item.click()
  await expect(popup(page)).toContainText(name)
  await closePopup(page)
  await item.click()
  await expect(popup(page)).toContainText(name)
})

test("an area's open details show a rename and a new threshold made by someone else", async ({ browser }) => {
  const { page } = await person(browser, 'viewer')
  const name = `Sound ${run}`
  const area = await newArea(name, 'medium', 6)
  await page.getByTestId('tab-areas').click()
  await page.getByTestId('area-item').filter({ hasText: name }).getByRole('button', { name }).click()
  const details = page.getByTestId('area-popup')
  await expect(details).toContainText(name)
  await expect(details).toContainText('medium and above')

  const admin = await adminApi()
  const renamed = `Renamed sound ${run}`
  const changed = await admin('PATCH', `/api/areas/${area.id}`, { properties: { name: renamed, severity: 'high', version: area.version } })
  expect(changed.status).toBe(200)
  await expect(details).toContainText(renamed)
  await expect(details).toContainText('high and above')
})
