import { test, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'
import type { Page } from '@playwright/test'

// The alert log is shared: two operators and a viewer, each in their own
// browser context, see the same alerts, and who took each one.

let operatorA: Person
let operatorB: Person
let viewer: Person
const run = Date.now() % 100000
// a stretch of the South Pacific no other spec uses
const [lon, lat] = [-140, -40]
const areaName = `Harbour ${run}`
let areaId: number

test.beforeAll(async ({ browser }) => {
  operatorA = await signedIn(browser, 'operator')
  operatorB = await signedIn(browser, 'operator')
  viewer = await signedIn(browser, 'viewer')
  const admin = await adminApi()
  const area = await admin('POST', '/api/areas', {
    type: 'Feature',
    properties: { name: areaName, severity: 'high' },
    geometry: { type: 'Polygon', coordinates: [[[lon - 0.5, lat - 0.5], [lon + 0.5, lat - 0.5], [lon + 0.5, lat + 0.5], [lon - 0.5, lat + 0.5], [lon - 0.5, lat - 0.5]]] },
  })
  expect(area.status).toBe(201)
  areaId = ((await area.json()) as { properties: { id: number } }).properties.id
})
test.afterAll(async () => {
  for (const person of [operatorA, operatorB, viewer]) await person?.context.close()
  // other specs count the areas they drew
  if (areaId) expect((await (await adminApi())('DELETE', `/api/areas/${areaId}`)).status).toBe(204)
})

const everyone = () => [operatorA, operatorB, viewer]

async function reportInside(name: string, dLon: number, severity = 'urgent') {
  const admin = await adminApi()
  const created = await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon + dLon, lat] }, properties: { name, description: '', severity },
  })
  expect(created.status).toBe(201)
  return ((await created.json()) as { properties: { id: number } }).properties.id
}

async function alertOf(incident: number) {
  const admin = await adminApi()
  const { alerts } = (await (await admin('GET', `/api/alerts?incident=${incident}`)).json()) as {
    alerts: { id: number; state: string; acknowledged_by: { username: string } | null }[]
  }
  expect(alerts).toHaveLength(1)
  return alerts[0]!
}

async function openOnServer() {
  const admin = await adminApi()
  return ((await (await admin('GET', '/api/alerts/summary')).json()) as { by_state: { open: number } }).by_state.open
}

const alertItem = (page: Page, incident: number) => page.getByTestId('alerts-panel').locator(`[data-testid=alert-item][data-incident-id="${incident}"]`)

/** The chromium log line for a refused request: the page itself shows the refusal. */
const refusedRequest = /^Failed to load resource: the server responded with a status of 409\b/

test('an alert reaches two operators and a viewer; one acknowledges it with a note, the others see who within a second, and a reload shows the same log', async () => {
  const name = `Ship aground ${run}`
  const incident = await reportInside(name, 0)

  for (const { page } of everyone()) {
    await expect(page.getByTestId('alert-toast').filter({ hasText: name })).toBeVisible()
    await expect(alertItem(page, incident)).toContainText(areaName)
    await expect(alertItem(page, incident).getByTestId('alert-state')).toHaveText('open')
    await expect(page.getByTestId('open-alert-count')).toHaveText(String(await openOnServer()))
  }
  // fired when, with the date
  await expect(alertItem(viewer.page, incident).locator('time')).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT/)
  // operators may take it; the viewer may not
  await expect(alertItem(viewer.page, incident).getByRole('button', { name: 'Acknowledge' })).toHaveCount(0)
  await expect(alertItem(operatorB.page, incident).getByRole('button', { name: 'Acknowledge' })).toBeVisible()

  // operator A, from the keyboard: the button is a real one
  const button = alertItem(operatorA.page, incident).getByRole('button', { name: 'Acknowledge' })
  await button.focus()
  await operatorA.page.keyboard.press('Enter')
  const dialog = operatorA.page.getByTestId('form-dialog')
  await dialog.getByLabel(/Note/).fill('Tug on its way')
  await dialog.getByRole('button', { name: 'Acknowledge' }).click()

  // the other two screens, without a reload, within a second
  const taken = new RegExp(`^acknowledged by ${operatorA.username} at .+ — Tug on its way$`)
  await Promise.all([operatorB, viewer].map(({ page }) => expect(alertItem(page, incident).getByTestId('alert-state')).toHaveText(taken, { timeout: 1000 })))
  await expect(dialog).toBeHidden()
  await expect(alertItem(operatorA.page, incident).getByTestId('alert-state')).toHaveText(taken)
  await expect(alertItem(operatorB.page, incident).getByRole('button', { name: 'Acknowledge' })).toHaveCount(0)
  const open = await openOnServer()
  for (const { page } of everyone()) await expect(page.getByTestId('open-alert-count')).toHaveText(String(open))
  await screenshot(viewer.page, 'alerts-acknowledged')

  // a reload (a new shift, a second screen) shows the same log and the same count
  const items = viewer.page.getByTestId('alerts-panel').getByTestId('alert-item')
  const before = await items.allTextContents()
  await viewer.page.reload()
  await expect(viewer.page.locator('body[data-ready=true]')).toBeAttached()
  await expect(alertItem(viewer.page, incident).getByTestId('alert-state')).toHaveText(taken)
  expect(await items.allTextContents()).toEqual(before)
  await expect(viewer.page.getByTestId('open-alert-count')).toHaveText(String(open))
  await expect(viewer.page.getByTestId('alert-count')).toHaveText(String(open))

  // "open only" leaves it out; "all" brings it back
  await viewer.page.getByTestId('alert-view').selectOption('open')
  await expect(alertItem(viewer.page, incident)).toHaveCount(0)
  await expect(items.getByTestId('alert-state').filter({ hasNotText: /^open$/ })).toHaveCount(0)
  await viewer.page.getByTestId('alert-view').selectOption('all')
  await expect(alertItem(viewer.page, incident)).toHaveCount(1)

  for (const person of everyone()) expect(person.errors).toEqual([])
})

test('two operators acknowledge the same alert at once: one gets it, the other is told who did', async () => {
  const incident = await reportInside(`Oil slick ${run}`, 0.2)
  const dialogs = [operatorA, operatorB].map(({ page }) => page.getByTestId('form-dialog'))
  for (const [i, { page }] of [operatorA, operatorB].entries()) {
    await alertItem(page, incident).getByRole('button', { name: 'Acknowledge' }).click()
    await dialogs[i]!.getByLabel(/Note/).fill(`mine, says operator ${'AB'[i]}`)
  }
  await Promise.all(dialogs.map((dialog) => dialog.getByRole('button', { name: 'Acknowledge' }).click()))

  const winner = (await alertOf(incident)).acknowledged_by!.username
  const [won, lost] = winner === operatorA.username ? [0, 1] : [1, 0]
  const loser = [operatorA, operatorB][lost]!
  expect([operatorA.username, operatorB.username]).toContain(winner)
  await expect(dialogs[won]!).toBeHidden()
  await expect(dialogs[lost]!.getByTestId('form-error')).toContainText(new RegExp(`already acknowledged by ${winner} at \\d{4}-`))
  await screenshot(loser.page, 'alerts-taken-first')
  // behind the dialog, the loser's item already says who has it
  await expect(alertItem(loser.page, incident).getByTestId('alert-state')).toHaveText(new RegExp(`^acknowledged by ${winner} at .+ — mine, says operator ${'AB'[won]}$`))
  await dialogs[lost]!.getByRole('button', { name: 'Cancel' }).click()
  await expect(dialogs[lost]!).toBeHidden()

  for (const operator of [operatorA, operatorB]) {
    expect(operator.errors.filter((e) => !refusedRequest.test(e))).toEqual([])
    operator.errors.length = 0 // the refusal was expected; later tests start clean
  }
})

test('an incident edited by two people shows both edits, before and after, in its History', async () => {
  const name = `Crane collapse ${run}`
  const incident = await reportInside(name, -0.2)
  const pin = (page: Page) => page.locator(`.incident-pin[data-incident-id="${incident}"]`)

  // operator A renames it, from the alert in the log
  await alertItem(operatorA.page, incident).getByRole('button', { name }).click()
  await operatorA.page.getByTestId('incident-popup').getByTestId('edit-incident').click()
  const dialogA = operatorA.page.getByTestId('form-dialog')
  await dialogA.getByLabel('Name').fill(`${name} at pier 4`)
  await dialogA.getByRole('button', { name: 'Save' }).click()
  await expect(dialogA).toBeHidden()

  // operator B, once the rename reached it, lowers the severity below the area's threshold
  await alertItem(operatorB.page, incident).getByRole('button', { name }).click()
  await expect(pin(operatorB.page)).toHaveAttribute('title', `${name} at pier 4`)
  // the popup reopens with the rename (the one it replaced may still be fading out)
  await operatorB.page.getByTestId('incident-popup').filter({ hasText: `${name} at pier 4` }).getByTestId('edit-incident').click()
  const dialogB = operatorB.page.getByTestId('form-dialog')
  await dialogB.getByLabel('Severity').selectOption('medium')
  await dialogB.getByRole('button', { name: 'Save' }).click()
  await expect(dialogB).toBeHidden()

  // the viewer opens its History
  await alertItem(viewer.page, incident).getByRole('button', { name: `${name} at pier 4` }).click()
  await expect(pin(viewer.page)).toHaveAttribute('data-severity', 'medium')
  const popup = viewer.page.getByTestId('incident-popup').filter({ hasText: 'medium' })
  await popup.getByTestId('incident-history-toggle').click()
  const history = popup.getByTestId('incident-history')
  const entry = (action: string) => history.locator(`[data-testid=history-entry][data-action="${action}"]`)
  await expect(entry('created')).toContainText(`name: “${name}”`)
  const edits = entry('edited')
  await expect(edits).toHaveCount(2)
  await expect(edits.nth(0).getByTestId('history-actor')).toHaveText(operatorA.username)
  await expect(edits.nth(0)).toContainText(`name: “${name}” → “${name} at pier 4”`)
  await expect(edits.nth(1).getByTestId('history-actor')).toHaveText(operatorB.username)
  await expect(edits.nth(1)).toContainText('severity: “urgent” → “medium”')
  await expect(entry('alert_fired')).toHaveText(new RegExp(`alert fired for ${areaName}`))
  await expect(entry('alert_resolved')).toContainText(`alert for ${areaName} resolved: below the area's threshold`)
  await screenshot(viewer.page, 'incident-history')
  // and the log says the same
  await expect(alertItem(viewer.page, incident).getByTestId('alert-state')).toHaveText("resolved: below the area's threshold")

  for (const person of everyone()) expect(person.errors).toEqual([])
})
