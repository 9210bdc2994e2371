import { test, view, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'
import type { Page } from '@playwright/test'

// Two operators, each in a browser context of their own, edit the same item.
// The one who saves second, from a form opened before the first saved, must
// not silently revert the first one's change: the page shows what changed
// meanwhile, theirs beside mine, and lets them apply their own change on top.
// Each test signs in people of its own and makes the data it needs.

let operatorA: Person
let operatorB: Person
const run = Date.now() % 100000
/** what the browser logs for the refused save: the refusal is the point here */
const refusedSave = /^Failed to load resource: the server responded with a status of 409\b/

test.beforeEach(async ({ browser }) => {
  operatorA = await signedIn(browser, 'operator')
  operatorB = await signedIn(browser, 'operator')
})
test.afterEach(async () => {
  await operatorA?.context.close()
  await operatorB?.context.close()
})

async function created(response: Response): Promise<number> {
  expect(response.status).toBe(201)
  return ((await response.json()) as { properties: { id: number } }).properties.id
}

const square = (lon: number, lat: number, d: number) => ({
  type: 'Polygon',
  coordinates: [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]],
})

interface IncidentOnServer {
  geometry: { coordinates: [number, number] }
  properties: { name: string; description: string; severity: string; version: number }
}

async function incidentOnServer(id: number): Promise<IncidentOnServer> {
  const response = await (await adminApi())('GET', `/api/incidents/${id}`)
  expect(response.status).toBe(200)
  return (await response.json()) as IncidentOnServer
}

async function alertsOf(incident: number): Promise<unknown[]> {
  const response = await (await adminApi())('GET', `/api/alerts?incident=${incident}`)
  expect(response.status).toBe(200)
  return ((await response.json()) as { alerts: unknown[] }).alerts
}

function noErrorsBut409(person: Person) {
  expect(person.errors.filter((e) => !refusedSave.test(e))).toEqual([])
}

test('an edit saved from a form opened before someone else saved does not revert their change: B sees theirs beside mine and applies only the name on top', async () => {
  const [lon, lat] = [-70, 52]
  const admin = await adminApi()
  await created(await admin('POST', '/api/areas', { type: 'Feature', geometry: square(lon, lat, 0.5), properties: { name: `Harbour ${run}`, severity: 'high' } }))
  const name = `Gas leak ${run}`
  const id = await created(await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, description: 'Smell of gas near the quay', severity: 'urgent' },
  }))
  await expect.poll(() => alertsOf(id).then((a) => a.length)).toBe(1) // the urgent incident alerted the area once

  // both operators open Edit on it, seeing the same values
  const forms = []
  for (const operator of [operatorA, operatorB]) {
    await view(operator.page, lon, lat, 12)
    await operator.page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
    await operator.page.getByTestId('incident-popup').getByTestId('edit-incident').click()
    const form = operator.page.getByTestId('form-dialog')
    await expect(form.getByLabel('Severity')).toHaveValue('urgent')
    forms.push(form)
  }
  const [formA, formB] = forms as [typeof forms[0], typeof forms[0]]

  // A lowers the severity and rewrites the description
  const descriptionA = 'Leak sealed; a crew stays on site'
  await formA.getByLabel('Severity').selectOption('low')
  await formA.getByLabel('Description').fill(descriptionA)
  await formA.getByRole('button', { name: 'Save' }).click()
  await expect(formA).toBeHidden()
  await expect.poll(async () => (await incidentOnServer(id)).properties.severity).toBe('low')

  // B, whose form still shows urgent and the old description, changes only the name and saves
  const nameB = `Gas leak at the quay ${run}`
  await expect(formB.getByLabel('Severity')).toHaveValue('urgent')
  await formB.getByLabel('Name').fill(nameB)
  await formB.getByRole('button', { name: 'Save' }).click()

  // B is shown what A changed meanwhile, theirs beside mine; nothing of B's is saved yet
  const conflict = operatorB.page.getByRole('dialog', { name: 'Changed while you were editing' })
  await expect(conflict).toBeVisible()
  await expect(conflict).toContainText(operatorA.username)
  const row = (field: string) => conflict.locator(`[data-testid=conflict-row][data-field="${field}"]`)
  await expect(conflict.getByTestId('conflict-row')).toHaveCount(3)
  await expect(row('severity').getByTestId('conflict-theirs')).toHaveText('low')
  await expect(row('severity').getByTestId('conflict-mine')).toHaveText('not changed by you')
  await expect(row('description').getByTestId('conflict-before')).toHaveText('Smell of gas near the quay')
  await expect(row('description').getByTestId('conflict-theirs')).toHaveText(descriptionA)
  await expect(row('description').getByTestId('conflict-mine')).toHaveText('not changed by you')
  await expect(row('name').getByTestId('conflict-theirs')).toHaveText(name)
  await expect(row('name').getByTestId('conflict-mine')).toHaveText(nameB)
  expect((await incidentOnServer(id)).properties).toMatchObject({ name, severity: 'low', description: descriptionA })
  await screenshot(operatorB.page, 'lost-update-conflict')

  // B applies the name on top of A's save
  await conflict.getByRole('button', { name: 'Apply my change on top' }).click()
  await expect(conflict).toBeHidden()
  await expect(formB).toBeHidden()
  await expect.poll(async () => (await incidentOnServer(id)).properties.name).toBe(nameB)
  expect((await incidentOnServer(id)).properties).toMatchObject({ name: nameB, severity: 'low', description: descriptionA })
  // both maps show the result
  for (const operator of [operatorA, operatorB]) {
    await expect(operator.page.locator(`.incident-pin[data-incident-id="${id}"]`)).toHaveAttribute('title', nameB)
    await expect(operator.page.locator(`.incident-pin[data-incident-id="${id}"]`)).toHaveAttribute('data-severity', 'low')
  }
  // and B's name-only change raised no new urgent alert (the first one stays the only one)
  expect(await alertsOf(id)).toHaveLength(1)
  await expect(operatorB.page.getByTestId('alert-toast').filter({ hasText: nameB })).toHaveCount(0)

  expect(operatorA.errors).toEqual([])
  noErrorsBut409(operatorB)
})

test('an area renamed from a form opened before someone else changed its threshold keeps their threshold: B sees theirs beside mine and applies the name on top', async () => {
  const [lon, lat] = [-74, 52]
  const admin = await adminApi()
  const name = `Old town ${run}`
  const id = await created(await admin('POST', '/api/areas', { type: 'Feature', geometry: square(lon, lat, 0.3), properties: { name, severity: 'high' } }))
  const areaOnServer = async () => ((await (await admin('GET', `/api/areas/${id}`)).json()) as { properties: { name: string; severity: string } }).properties

  // both operators open Edit on it from the Areas list
  const forms = []
  for (const operator of [operatorA, operatorB]) {
    await operator.page.getByTestId('tab-areas').click()
    await operator.page.locator(`[data-testid=area-item][data-area-id="${id}"]`).getByRole('button', { name }).click()
    await operator.page.getByTestId('area-popup').getByTestId('edit-area').click()
    const form = operator.page.getByTestId('form-dialog')
    await expect(form.getByLabel('Alert threshold (this severity and above)')).toHaveValue('high')
    forms.push(form)
  }
  const [formA, formB] = forms as [typeof forms[0], typeof forms[0]]

  // A lowers the threshold
  await formA.getByLabel('Alert threshold (this severity and above)').selectOption('low')
  await formA.getByRole('button', { name: 'Save' }).click()
  await expect(formA).toBeHidden()
  await expect.poll(async () => (await areaOnServer()).severity).toBe('low')

  // B, whose form still says high, renames it
  const nameB = `Old town and market ${run}`
  await formB.getByLabel('Name').fill(nameB)
  await formB.getByRole('button', { name: 'Save' }).click()

  const conflict = operatorB.page.getByRole('dialog', { name: 'Changed while you were editing' })
  await expect(conflict).toBeVisible()
  const row = (field: string) => conflict.locator(`[data-testid=conflict-row][data-field="${field}"]`)
  await expect(conflict.getByTestId('conflict-row')).toHaveCount(2)
  await expect(row('severity').getByTestId('conflict-before')).toHaveText('high and above')
  await expect(row('severity').getByTestId('conflict-theirs')).toHaveText('low and above')
  await expect(row('severity').getByTestId('conflict-mine')).toHaveText('not changed by you')
  await expect(row('name').getByTestId('conflict-mine')).toHaveText(nameB)
  expect(await areaOnServer()).toMatchObject({ name, severity: 'low' })

  await conflict.getByRole('button', { name: 'Apply my change on top' }).click()
  await expect(conflict).toBeHidden()
  await expect(formB).toBeHidden()
  await expect.poll(async () => (await areaOnServer()).name).toBe(nameB)
  expect(await areaOnServer()).toMatchObject({ name: nameB, severity: 'low' })
  await expect(operatorA.page.locator(`[data-testid=area-item][data-area-id="${id}"]`)).toContainText('alerts at low and above')

  expect(operatorA.errors).toEqual([])
  noErrorsBut409(operatorB)
})

test('reloading in the conflict takes theirs and sends nothing of mine', async () => {
  const [lon, lat] = [-78, 52]
  const admin = await adminApi()
  const name = `Fallen tree ${run}`
  const id = await created(await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, description: '', severity: 'medium' },
  }))
  await view(operatorB.page, lon, lat, 12)
  await operatorB.page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
  await operatorB.page.getByTestId('incident-popup').getByTestId('edit-incident').click()
  const form = operatorB.page.getByTestId('form-dialog')
  await expect(form.getByLabel('Severity')).toHaveValue('medium')

  // someone else raises it while B's form is open
  const raised = await admin('PATCH', `/api/incidents/${id}`, { properties: { severity: 'high', version: 1 } })
  expect(raised.status).toBe(200)

  await form.getByLabel('Severity').selectOption('low')
  await form.getByRole('button', { name: 'Save' }).click()
  const conflict = operatorB.page.getByRole('dialog', { name: 'Changed while you were editing' })
  const severity = conflict.locator('[data-testid=conflict-row][data-field="severity"]')
  await expect(severity.getByTestId('conflict-theirs')).toHaveText('high')
  await expect(severity.getByTestId('conflict-mine')).toHaveText('low')
  await conflict.getByRole('button', { name: 'Reload (take theirs, discard mine)' }).click()
  await expect(conflict).toBeHidden()
  await expect(form).toBeHidden()
  await expect(operatorB.page.locator(`.incident-pin[data-incident-id="${id}"]`)).toHaveAttribute('data-severity', 'high')
  expect((await incidentOnServer(id)).properties).toMatchObject({ severity: 'high', version: 2 })

  noErrorsBut409(operatorB)
})

test('a marker dragged by a slip of the mouse goes back where it was with Undo', async () => {
  const [lon, lat] = [-82, 52]
  const admin = await adminApi()
  const name = `Burst main ${run}`
  const id = await created(await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, description: '', severity: 'high' },
  }))
  const page = operatorA.page
  await view(page, lon, lat, 12)
  const pin = page.locator(`.incident-pin[data-incident-id="${id}"]`)
  await expect(pin).toBeVisible()
  const box = (await pin.boundingBox())!
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 }
  await page.mouse.move(start.x, start.y)
  await page.mouse.down()
  await page.mouse.move(start.x + 40, start.y + 20, { steps: 5 })
  await page.mouse.move(start.x + 120, start.y + 60, { steps: 5 })
  await page.mouse.up()

  // the move is saved (one version on), and the notice offers to undo it
  await expect.poll(async () => (await incidentOnServer(id)).properties.version).toBe(2)
  const moved = (await incidentOnServer(id)).geometry.coordinates
  expect(moved[0]).toBeGreaterThan(lon)
  expect(moved[1]).toBeLessThan(lat)
  const notice = page.getByTestId('undo-toast').filter({ hasText: name })
  await expect(notice).toBeVisible()
  await screenshot(page, 'drag-undo-notice')
  await notice.getByRole('button', { name: 'Undo' }).click()
  await expect(notice).toBeHidden()

  // back where it was, on the server and on the map, based on the version the move made
  await expect.poll(async () => (await incidentOnServer(id)).properties.version).toBe(3)
  const back = (await incidentOnServer(id)).geometry.coordinates
  expect(back[0]).toBeCloseTo(lon, 9)
  expect(back[1]).toBeCloseTo(lat, 9)
  await expect.poll(async () => {
    const now = (await pin.boundingBox())!
    return [Math.round(now.x + now.width / 2 - start.x), Math.round(now.y + now.height / 2 - start.y)]
  }).toEqual([0, 0])

  expect(operatorA.errors).toEqual([])
})

test('a drag saved against the version it began from: a rename that arrived mid-drag is shown as a conflict, and applying the move keeps the rename', async () => {
  const [lon, lat] = [-86, 52]
  const admin = await adminApi()
  const name = `Sinkhole ${run}`
  const id = await created(await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name, description: '', severity: 'medium' },
  }))
  const page = operatorA.page
  await page.getByTestId('tab-incidents').click()
  await view(page, lon, lat, 12)
  const pin = page.locator(`.incident-pin[data-incident-id="${id}"]`)
  await expect(pin).toBeVisible()
  await page.evaluate(() => {
    const w = window as any
    w.__renders = 0
    w.__map__.on('incidents:rendered', () => w.__renders++)
  })
  const box = (await pin.boundingBox())!
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 }
  await page.mouse.move(start.x, start.y)
  await page.mouse.down()
  await page.mouse.move(start.x + 40, start.y + 20, { steps: 5 })

  // while the marker is in the operator's hand, someone renames the incident, and the page shows the rename
  const renders = await page.evaluate(() => (window as any).__renders as number)
  const renamed = `Sinkhole on Mill road ${run}`
  expect((await admin('PATCH', `/api/incidents/${id}`, { properties: { name: renamed, version: 1 } })).status).toBe(200)
  await expect(page.locator(`[data-testid=incident-item][data-incident-id="${id}"]`)).toContainText(renamed)
  await expect.poll(() => page.evaluate(() => (window as any).__renders as number)).toBeGreaterThan(renders)

  await page.mouse.move(start.x + 120, start.y + 60, { steps: 5 })
  await page.mouse.up()

  // the drop was based on version 1: the page shows the rename beside the move, and saves nothing yet
  const conflict = page.getByRole('dialog', { name: 'Changed while you were editing' })
  await expect(conflict).toBeVisible()
  const row = (field: string) => conflict.locator(`[data-testid=conflict-row][data-field="${field}"]`)
  await expect(row('name').getByTestId('conflict-theirs')).toHaveText(renamed)
  await expect(row('name').getByTestId('conflict-mine')).toHaveText('not changed by you')
  await expect(row('location').getByTestId('conflict-theirs')).toHaveText(`${lat.toFixed(5)}, ${lon.toFixed(5)}`)
  await expect(row('location').getByTestId('conflict-mine')).not.toHaveText('not changed by you')
  expect((await incidentOnServer(id)).properties.version).toBe(2)

  await conflict.getByRole('button', { name: 'Apply my change on top' }).click()
  await expect(conflict).toBeHidden()
  await expect.poll(async () => (await incidentOnServer(id)).properties.version).toBe(3)
  const saved = await incidentOnServer(id)
  expect(saved.properties.name).toBe(renamed)
  expect(saved.geometry.coordinates[0]).toBeGreaterThan(lon)
  expect(saved.geometry.coordinates[1]).toBeLessThan(lat)
  await expect(page.getByTestId('undo-toast').filter({ hasText: renamed })).toBeVisible()

  noErrorsBut409(operatorA)
})

test('a shape saved after someone renamed the area meanwhile shows the rename as a conflict, and applying keeps the rename', async () => {
  const [lon, lat] = [-90, 52]
  const admin = await adminApi()
  const name = `Flood plain ${run}`
  const id = await created(await admin('POST', '/api/areas', { type: 'Feature', geometry: square(lon, lat, 0.3), properties: { name, severity: 'medium' } }))
  const page = operatorB.page
  const openPopup = async (label: string) => {
    await page.getByTestId('tab-areas').click()
    await page.locator(`[data-testid=area-item][data-area-id="${id}"]`).getByRole('button', { name: label }).click()
    return page.getByTestId('area-popup')
  }
  await (await openPopup(name)).getByTestId('edit-shape').click()

  const renamed = `Flood plain north ${run}`
  expect((await admin('PATCH', `/api/areas/${id}`, { properties: { name: renamed, version: 1 } })).status).toBe(200)
  await (await openPopup(renamed)).getByTestId('save-shape').click()

  const conflict = page.getByRole('dialog', { name: 'Changed while you were editing' })
  await expect(conflict).toBeVisible()
  const row = (field: string) => conflict.locator(`[data-testid=conflict-row][data-field="${field}"]`)
  await expect(row('name').getByTestId('conflict-before')).toHaveText(name)
  await expect(row('name').getByTestId('conflict-theirs')).toHaveText(renamed)
  await expect(row('name').getByTestId('conflict-mine')).toHaveText('not changed by you')
  await conflict.getByRole('button', { name: 'Apply my change on top' }).click()
  await expect(conflict).toBeHidden()
  await expect.poll(async () => ((await (await admin('GET', `/api/areas/${id}`)).json()) as { properties: { version: number } }).properties.version).toBe(3)
  const saved = (await (await admin('GET', `/api/areas/${id}`)).json()) as { properties: { name: string } }
  expect(saved.properties.name).toBe(renamed)

  noErrorsBut409(operatorB)
})
