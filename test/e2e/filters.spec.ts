import type { Browser, Page } from '@playwright/test'
import { test, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'
import { groupDigits } from '../../web/src/ui/incident-count.ts'

// Filters a person can see and share: a filter on says how many incidents it
// lets through of how many ("3 of 5 011"), the address keeps the map's view
// and the filters, and the search box finds incidents by any part of their
// name or description, asked of the server.

let viewer: Person
const run = Date.now() % 100000
/** in every name of this file's incidents, so the searches find only them */
const tag = `zq${run}`

test.beforeAll(async ({ browser }) => {
  viewer = await signedIn(browser, 'viewer')
})
test.afterAll(async () => {
  await viewer?.context.close()
})

async function report(name: string, severity: string, [lon, lat]: [number, number], description = ''): Promise<number> {
  const admin = await adminApi()
  const response = await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, description, severity },
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { properties: { id: number } }).properties.id
}

/** How many incidents the server has (every page of them). */
async function incidentsOnServer(): Promise<number> {
  const admin = await adminApi()
  let count = 0
  let cursor: number | null = null
  do {
    const page = (await (await admin('GET', `/api/incidents/rows?limit=10000${cursor === null ? '' : `&cursor=${cursor}`}`)).json()) as { rows: unknown[]; next_cursor: number | null }
    count += page.rows.length
    cursor = page.next_cursor
  } while (cursor !== null)
  return count
}

/** The names in the Incidents list, in its order (newest first). */
async function listed(page: Page): Promise<string[]> {
  return page.getByTestId('incident-list').getByTestId('incident-item').locator('button').allTextContents()
}

const mapView = (page: Page) => page.evaluate(() => {
  const map = (window as any).__map__
  const c = map.getCenter()
  return { lat: c.lat as number, lon: c.lng as number, zoom: map.getZoom() as number }
})

/** A colleague with no session opens the link, signs in, and lands on it. */
async function colleagueOpens(browser: Browser, url: string) {
  const admin = await adminApi()
  const username = `colleague${run}`
  const password = 'colleague-password-1'
  expect((await admin('POST', '/api/users', { username, password, role: 'viewer' })).status).toBe(201)
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  return { context, page }
}

test('a filter says how many incidents it shows of how many, and the address keeps the view and the filters for a reload and for a colleague', async ({ browser }) => {
  const page = viewer.page
  const spots: [string, string, [number, number]][] = [
    [`Quarry blast ${tag} 1`, 'urgent', [23.8, 61.2]], [`Quarry blast ${tag} 2`, 'urgent', [24.3, 61.0]],
    [`Quarry blast ${tag} 3`, 'high', [24.8, 61.2]], [`Quarry blast ${tag} 4`, 'low', [24.3, 61.3]],
  ]
  for (const [name, severity, at] of spots) await report(name, severity, at)
  const count = page.getByTestId('incident-count')
  const status = page.getByTestId('map-filter-status')
  await page.getByTestId('tab-incidents').click()
  await expect(page.getByTestId('incident-list')).toContainText(spots[3]![0])

  // no filter: the plain count of every incident there is, no filter status on the map
  const total = groupDigits(await incidentsOnServer())
  await expect(count).toHaveText(total)
  await expect(status).toBeHidden()
  await expect(page.getByTestId('clear-filters')).toBeHidden()

  // a search and a severity unticked: the count says how many of how many, the map says a filter is on
  await page.getByTestId('incident-search').fill(`blast ${tag}`)
  await expect(count).toHaveText(`4 of ${total}`)
  await page.getByTestId('filters').getByLabel('low').uncheck()
  await expect(count).toHaveText(`3 of ${total}`)
  await expect(status).toBeVisible()
  await expect(status).toContainText(`Filter on: 3 of ${total} incidents shown`)
  await expect(page.getByTestId('clear-filters')).toBeVisible()
  expect(await listed(page)).toEqual([spots[2]![0], spots[1]![0], spots[0]![0]])
  await page.evaluate(() => (window as any).__map__.setView([61.05, 24.3], 9, { animate: false }))
  await expect(page).toHaveURL(/#map=9\/61\.05\d*\/24\.30*\d*&severity=urgent,high,medium,info&q=blast%20zq\d+$/)
  const shared = page.url()
  await screenshot(page, 'filters-on')

  const expectSameMap = async (p: Page) => {
    await expect(p.getByTestId('incident-search')).toHaveValue(`blast ${tag}`)
    await expect(p.getByTestId('filters').getByLabel('low')).not.toBeChecked()
    await expect(p.getByTestId('filters').getByLabel('urgent')).toBeChecked()
    await expect(p.getByTestId('incident-count')).toHaveText(`3 of ${total}`)
    await expect(p.getByTestId('map-filter-status')).toContainText(`Filter on: 3 of ${total} incidents shown`)
    await p.getByTestId('tab-incidents').click()
    await expect.poll(() => listed(p)).toEqual([spots[2]![0], spots[1]![0], spots[0]![0]])
    const view = await mapView(p)
    expect(view.zoom).toBe(9)
    expect(Math.abs(view.lat - 61.05)).toBeLessThan(0.01)
    expect(Math.abs(view.lon - 24.3)).toBeLessThan(0.01)
    // the pins shown are the filter's: the low one is not on the map
    await expect(p.locator('.incident-pin')).toHaveCount(3)
  }

  // a reload opens the same map
  await page.reload()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expectSameMap(page)
  expect(page.url()).toBe(shared)

  // so does the link, opened by someone else who has to sign in first
  const colleague = await colleagueOpens(browser, shared)
  try {
    await expectSameMap(colleague.page)
  } finally {
    await colleague.context.close()
  }

  // Clear filters: everything again, and the address says so
  await page.getByTestId('clear-filters').click()
  await expect(count).toHaveText(total)
  await expect(status).toBeHidden()
  await expect(page.getByTestId('incident-search')).toHaveValue('')
  await expect(page).toHaveURL(/#map=9\/[\d.]+\/[\d.]+$/)
  expect(viewer.errors).toEqual([])
})

test('the search box finds incidents by any part of a word in their name or description, asks the server, and takes % literally', async () => {
  const page = viewer.page
  await page.evaluate(() => (window as any).__map__.setView([-33.85, 18.5], 10, { animate: false }))
  const wildfire = await report(`Wildfire ${tag}`, 'high', [18.4, -33.9])
  const bonfire = await report(`Bonfire ${tag}`, 'low', [18.6, -33.8])
  const road = await report(`Road closed ${tag}`, 'medium', [18.5, -34.0], `ash from a brushfire ${tag} on the verge`)
  const flood = await report(`Flood ${tag}`, 'urgent', [18.5, -33.7])
  const percent = await report(`Water cut 100% ${tag}`, 'low', [18.3, -33.95])
  const near = await report(`Water cut 1000 ${tag}`, 'low', [18.35, -33.95])
  await page.getByTestId('tab-incidents').click()
  const all = await incidentsOnServer()
  const count = page.getByTestId('incident-count')
  await expect(count).toHaveText(groupDigits(all))
  const total = groupDigits(all)

  const asked = page.waitForResponse((r) => {
    const url = new URL(r.url())
    return url.pathname === '/api/incidents/rows' && url.searchParams.get('q') === `fire ${tag}`
  })
  await page.getByTestId('incident-search').fill(`fire ${tag}`)
  expect((await asked).status()).toBe(200)
  await expect(count).toHaveText(`3 of ${total}`)
  await expect.poll(() => listed(page)).toEqual([`Road closed ${tag}`, `Bonfire ${tag}`, `Wildfire ${tag}`])
  // on the map: the three found, not the flood
  for (const id of [wildfire, bonfire, road]) await expect(page.locator(`.incident-pin[data-incident-id="${id}"]`)).toBeVisible()
  await expect(page.locator(`.incident-pin[data-incident-id="${flood}"]`)).toHaveCount(0)

  // reported after the search was answered: it joins the list if it matches, live
  const campfire = await report(`Campfire ${tag}`, 'info', [18.45, -33.85])
  await report(`Landslide ${tag}`, 'info', [18.55, -33.85])
  await expect(count).toHaveText(`4 of ${groupDigits(all + 2)}`)
  await expect(page.locator(`.incident-pin[data-incident-id="${campfire}"]`)).toBeVisible()

  // % is a character like any other
  await page.getByTestId('incident-search').fill(`100% ${tag}`)
  await page.getByTestId('incident-search').press('Enter')
  await expect.poll(() => listed(page)).toEqual([`Water cut 100% ${tag}`])
  await expect(page.locator(`.incident-pin[data-incident-id="${percent}"]`)).toBeVisible()
  await expect(page.locator(`.incident-pin[data-incident-id="${near}"]`)).toHaveCount(0)

  // nothing found says so
  await page.getByTestId('incident-search').fill(`nothing like this ${tag}`)
  await expect(page.getByTestId('incident-list')).toHaveText('No incidents match the filters.')
  await page.getByTestId('clear-filters').click()
  expect(viewer.errors).toEqual([])
})
