import type { WebSocketRoute } from '@playwright/test'
import { test, expect, signedIn, adminApi, liveWatcher, screenshot, pointOnMap, type Person } from './fixtures.ts'

// A viewer's network drops for a few seconds while incidents that alert are
// reported; when it comes back, the dashboard catches up with no gap.

/** The badge in an outage: since when, and how old the map is */
const OFFLINE = /^offline since \d\d:\d\d — map as of \d\d:\d\d$/

let viewer: Person
const run = Date.now() % 100000

test.beforeAll(async ({ browser }) => {
  viewer = await signedIn(browser, 'viewer')
})
test.afterAll(async () => {
  await viewer?.context.close()
})

test('a viewer offline while incidents are reported gets every incident and every alert once back online', async () => {
  const page = viewer.page
  const [lon, lat] = [-60, -10]
  const areaName = `River basin ${run}`
  const admin = await adminApi()
  const area = await admin('POST', '/api/areas', {
    type: 'Feature',
    properties: { name: areaName, severity: 'medium' },
    geometry: { type: 'Polygon', coordinates: [[[lon - 1, lat - 1], [lon + 1, lat - 1], [lon + 1, lat + 1], [lon - 1, lat + 1], [lon - 1, lat - 1]]] },
  })
  expect(area.status).toBe(201)
  const areaId = ((await area.json()) as { properties: { id: number } }).properties.id
  // the viewer has the area live before the network goes
  await expect(page.locator(`path.area-${areaId}`)).toBeAttached()
  await page.evaluate(([lon, lat]) => (window as any).__map__.setView([lat, lon], 8, { animate: false }), [lon, lat])

  const watcher = await liveWatcher()
  await viewer.context.setOffline(true)
  await expect(page.getByTestId('connection-state')).toHaveText(OFFLINE)

  // reported while the viewer is offline: all inside the area, all at or above its threshold
  const spots: [number, number, string][] = [
    [lon - 0.6, lat - 0.5, 'urgent'], [lon + 0.6, lat - 0.5, 'high'], [lon - 0.6, lat + 0.5, 'medium'], [lon + 0.6, lat + 0.5, 'urgent'], [lon, lat, 'high'],
  ]
  const incidents: { id: number; name: string }[] = []
  for (const [i, [x, y, severity]] of spots.entries()) {
    const name = `Flooding ${run}-${i + 1}`
    const response = await admin('POST', '/api/incidents', {
      type: 'Feature', geometry: { type: 'Point', coordinates: [x, y] }, properties: { name, description: 'while the viewer was offline', severity },
    })
    expect(response.status).toBe(201)
    incidents.push({ id: ((await response.json()) as { properties: { id: number } }).properties.id, name })
  }
  // the server has sent all of them (a socket that is online has them); none reached the offline page, and the badge says so
  for (const { id } of incidents) await watcher.waitFor((f) => f.type === 'alert' && f.feature.properties.id === id)
  watcher.close()
  await expect(page.getByTestId('connection-state')).toHaveText(OFFLINE)
  for (const { id } of incidents) await expect(page.locator(`[data-incident-id="${id}"]`)).toHaveCount(0)

  await viewer.context.setOffline(false)
  await expect(page.getByTestId('connection-state')).toHaveText('connected')

  // the alerts panel: one alert-item for every one of them, naming the area
  const alerts = page.getByTestId('alerts-panel')
  for (const { id, name } of incidents) {
    const item = alerts.locator(`[data-testid=alert-item][data-incident-id="${id}"]`)
    await expect(item).toHaveCount(1)
    await expect(item).toContainText(name)
    await expect(item).toContainText(areaName)
  }
  // the incidents list and the map have all of them
  await page.getByTestId('tab-incidents').click()
  for (const { id, name } of incidents) {
    await expect(page.getByTestId('incident-list').locator(`[data-testid=incident-item][data-incident-id="${id}"]`)).toHaveText(new RegExp(name))
  }
  for (const { id } of incidents) await expect(page.locator(`.incident-pin[data-incident-id="${id}"]`)).toBeVisible()
  // each pin where it was reported
  for (const [i, { id }] of incidents.entries()) {
    const box = (await page.locator(`.incident-pin[data-incident-id="${id}"]`).boundingBox())!
    const mapBox = (await page.getByTestId('map').boundingBox())!
    const at = await pointOnMap(page, spots[i]![0], spots[i]![1])
    expect(Math.abs(box.x + box.width / 2 - (mapBox.x + at.x))).toBeLessThan(3)
    expect(Math.abs(box.y + box.height / 2 - (mapBox.y + at.y))).toBeLessThan(3)
  }
  await screenshot(page, 'offline-caught-up')
  expect(viewer.errors).toEqual([])
})

test('a viewer that goes offline before any live update has arrived still catches up once back online', async ({ browser }) => {
  // the area and everything else exist before this viewer signs in, so its
  // socket has delivered nothing yet when the network goes
  const [lon, lat] = [-70, -10]
  const areaName = `Delta ${run}`
  const admin = await adminApi()
  const area = await admin('POST', '/api/areas', {
    type: 'Feature',
    properties: { name: areaName, severity: 'low' },
    geometry: { type: 'Polygon', coordinates: [[[lon - 1, lat - 1], [lon + 1, lat - 1], [lon + 1, lat + 1], [lon - 1, lat + 1], [lon - 1, lat - 1]]] },
  })
  expect(area.status).toBe(201)
  const fresh = await signedIn(browser, 'viewer')
  try {
    const page = fresh.page
    // the shared log shows earlier alerts, but none yet of this area
    await expect(page.getByTestId('alert-item').filter({ hasText: areaName })).toHaveCount(0)
    const watcher = await liveWatcher()
    await fresh.context.setOffline(true)
    await expect(page.getByTestId('connection-state')).toHaveText(OFFLINE)
    const name = `Levee breach ${run}`
    const response = await admin('POST', '/api/incidents', {
      type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, description: '', severity: 'urgent' },
    })
    expect(response.status).toBe(201)
    const id = ((await response.json()) as { properties: { id: number } }).properties.id
    // sent while this page is offline: a socket that is online has it
    await watcher.waitFor((f) => f.type === 'alert' && f.feature.properties.id === id)
    watcher.close()
    await expect(page.getByTestId('alert-item').filter({ hasText: areaName })).toHaveCount(0)
    await fresh.context.setOffline(false)
    await expect(page.getByTestId('connection-state')).toHaveText('connected')

    await expect(page.getByTestId('alerts-panel').locator(`[data-testid=alert-item][data-incident-id="${id}"]`)).toContainText(areaName)
    await page.getByTestId('tab-incidents').click()
    await expect(page.getByTestId('incident-list').locator(`[data-testid=incident-item][data-incident-id="${id}"]`)).toContainText(name)
    expect(fresh.errors).toEqual([])
  } finally {
    await fresh.context.close()
  }
})

test('an incident reported while a page is still connecting its live socket is on its map once connected', async ({ browser }) => {
  const admin = await adminApi()
  const late = await signedIn(browser, 'viewer')
  try {
    const page = late.page
    // the next load's socket hangs in its handshake until released, as on a slow network
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let connecting!: () => void
    const socketAsked = new Promise<void>((resolve) => (connecting = resolve))
    await page.routeWebSocket(/\/ws/, async (socket) => {
      connecting()
      await released
      socket.connectToServer()
    })
    // a page that read without waiting for its socket has read by now
    const earlyRead = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/incidents', { timeout: 2500 }).catch(() => null)
    await page.reload()
    await socketAsked
    await earlyRead

    const name = `Gas leak ${run}`
    const response = await admin('POST', '/api/incidents', {
      type: 'Feature', geometry: { type: 'Point', coordinates: [-80, -10] }, properties: { name, description: 'while a socket was connecting', severity: 'low' },
    })
    expect(response.status).toBe(201)
    const id = ((await response.json()) as { properties: { id: number } }).properties.id
    // published to the live sockets before this page's joins: the viewer already signed in has it
    await viewer.page.getByTestId('tab-incidents').click()
    await expect(viewer.page.getByTestId('incident-list').locator(`[data-testid=incident-item][data-incident-id="${id}"]`)).toContainText(name)

    release()
    await expect(page.getByTestId('connection-state')).toHaveText('connected')
    await page.getByTestId('tab-incidents').click()
    await expect(page.getByTestId('incident-list').locator(`[data-testid=incident-item][data-incident-id="${id}"]`)).toContainText(name)
    await page.evaluate(() => (window as any).__map__.setView([-10, -80], 10, { animate: false }))
    await expect(page.locator(`.incident-pin[data-incident-id="${id}"]`)).toBeVisible()
    expect(late.errors).toEqual([])
  } finally {
    await late.context.close()
  }
})

test('with its live socket refused a page still shows the incidents, and catches up once the socket gets through', async ({ browser }) => {
  const admin = await adminApi()
  const refused = await signedIn(browser, 'viewer')
  try {
    const page = refused.page
    const report = async (name: string) => {
      const response = await admin('POST', '/api/incidents', {
        type: 'Feature', geometry: { type: 'Point', coordinates: [-90, -10] }, properties: { name, description: '', severity: 'low' },
      })
      expect(response.status).toBe(201)
      return ((await response.json()) as { properties: { id: number } }).properties.id
    }
    const before = await report(`Before the proxy ${run}`)
    // a proxy that refuses WebSockets: each attempt closes at once, until it lets them through
    let refusing = true
    await page.routeWebSocket(/\/ws/, (socket) => {
      if (refusing) void socket.close({ code: 1011, reason: 'refused' })
      else socket.connectToServer()
    })
    await page.reload()
    await expect(page.getByTestId('connection-state')).toHaveText('reconnecting')
    await page.getByTestId('tab-incidents').click()
    const list = page.getByTestId('incident-list')
    await expect(list.locator(`[data-testid=incident-item][data-incident-id="${before}"]`)).toBeVisible()

    // reported while there is no socket; then the socket gets through
    const during = await report(`Behind the proxy ${run}`)
    refusing = false
    await expect(page.getByTestId('connection-state')).toHaveText('connected', { timeout: 15_000 })
    await expect(list.locator(`[data-testid=incident-item][data-incident-id="${during}"]`)).toBeVisible()
  } finally {
    await refused.context.close()
  }
})

test('in an outage the badge says since when and how old the map is, and the map is dimmed until the socket is back and caught up', async ({ browser }) => {
  const admin = await adminApi()
  const person = await signedIn(browser, 'viewer')
  try {
    const page = person.page
    // the server's socket goes through a proxy the test can cut: the network stays up (no browser `offline` event)
    let refusing = false
    let current: { page: WebSocketRoute; server: WebSocketRoute } | undefined
    await page.routeWebSocket(/\/ws/, (socket) => {
      if (refusing) return void socket.close({ code: 1011, reason: 'server unreachable' })
      current = { page: socket, server: socket.connectToServer() }
    })
    await page.reload()
    const badge = page.getByTestId('connection-state')
    const map = page.getByTestId('map')
    const note = page.getByTestId('map-stale')
    await expect(badge).toHaveText('connected')
    await expect(map).not.toHaveClass(/\bstale\b/)
    await expect(note).toBeHidden()

    // the server goes away: the live socket drops and every attempt fails
    refusing = true
    await current!.page.close({ code: 1011, reason: 'server gone' })
    await current!.server.close()
    await expect(badge).toHaveText('reconnecting')
    await expect(badge).toHaveText(OFFLINE, { timeout: 15_000 })
    await expect(map).toHaveClass(/\bstale\b/)
    await expect(note).toBeVisible()
    await expect(note).toHaveText(/^Not live: the map as of \d\d:\d\d$/)
    await screenshot(page, 'offline-dimmed')

    // reported during the outage
    const name = `During the outage ${run}`
    const response = await admin('POST', '/api/incidents', {
      type: 'Feature', geometry: { type: 'Point', coordinates: [-100, -10] }, properties: { name, description: '', severity: 'low' },
    })
    expect(response.status).toBe(201)
    const id = ((await response.json()) as { properties: { id: number } }).properties.id
    // still offline, still dimmed: the page keeps trying
    await expect(badge).toHaveText(OFFLINE)
    await expect(map).toHaveClass(/\bstale\b/)

    // back: connected, caught up (the incident is there), no longer dimmed
    refusing = false
    await expect(badge).toHaveText('connected', { timeout: 20_000 })
    await page.getByTestId('tab-incidents').click()
    await expect(page.getByTestId('incident-list').locator(`[data-testid=incident-item][data-incident-id="${id}"]`)).toContainText(name)
    await expect(map).not.toHaveClass(/\bstale\b/)
    await expect(note).toBeHidden()
    expect(person.errors).toEqual([])
  } finally {
    await person.context.close()
  }
})
