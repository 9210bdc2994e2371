import { test, view, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'
import type { Page } from '@playwright/test'

// An operations room keeps the dashboard open through a shift. When the
// session ends under it (it expired, or it was signed out elsewhere), the
// page says so on the sign-in form and gives back what was being typed; a
// few minutes before the absolute expiry (which no use moves) it warns.
// (That watching and using keep a session alive past its idle limit is
// tested against the server: test/integration/server/auth/sliding-session.test.ts.)

let operator: Person
const run = Date.now() % 100000
/** what the browser logs for the requests the ended session was refused */
const refused = /^Failed to load resource: the server responded with a status of 401\b/

test.afterEach(async () => {
  await operator?.context.close()
})

/** Ends the page's session from outside, as an expiry or a sign-out on another screen would: its cookie's key is revoked. */
async function endSessionOf(person: Person) {
  const key = (await person.context.cookies()).find((c) => c.name === 'session')!.value
  const response = await fetch(`${process.env.E2E_BASE_URL}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
  expect(response.status).toBe(204)
}

test('a session that ends under an open edit: the sign-in form says why, and after signing in the form is back as typed', async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  const { page } = operator
  const [lon, lat] = [-40, 61]
  const admin = await adminApi()
  const createdIncident = await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name: `Ferry delayed ${run}`, description: '', severity: 'low' },
  })
  expect(createdIncident.status).toBe(201)
  const id = ((await createdIncident.json()) as { properties: { id: number } }).properties.id

  await view(page, lon, lat, 12)
  await page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
  await page.getByTestId('incident-popup').getByTestId('edit-incident').click()
  const form = page.getByTestId('form-dialog')
  const typedName = `Ferry cancelled ${run}`
  const typedDescription = 'Storm warning; passengers moved to the 18:00 boat'
  await form.getByLabel('Name').fill(typedName)
  await form.getByLabel('Description').fill(typedDescription)
  await form.getByLabel('Severity').selectOption('high')

  await endSessionOf(operator)

  // the sign-in form, saying why, instead of a blank one
  await expect(page.getByTestId('login-form')).toBeVisible()
  await expect(page.getByTestId('login-notice')).toContainText('Your session ended')
  await screenshot(page, 'session-ended-sign-in')
  await page.getByLabel('Username').fill(operator.username)
  await page.getByLabel('Password').fill(operator.password)
  await page.getByRole('button', { name: 'Sign in' }).click()

  // the edit form is open again with what was typed, and saves it
  const restored = page.getByTestId('form-dialog')
  await expect(restored.getByLabel('Name')).toHaveValue(typedName)
  await expect(restored.getByLabel('Description')).toHaveValue(typedDescription)
  await expect(restored.getByLabel('Severity')).toHaveValue('high')
  await restored.getByRole('button', { name: 'Save' }).click()
  await expect(restored).toBeHidden()
  const saved = await (await admin('GET', `/api/incidents/${id}`)).json() as { properties: { name: string; description: string; severity: string } }
  expect(saved.properties).toMatchObject({ name: typedName, description: typedDescription, severity: 'high' })

  // taken once: a reload does not open it again
  await page.reload()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.getByTestId('form-dialog')).toHaveCount(0)
  expect(operator.errors.filter((e) => !refused.test(e))).toEqual([])
})

test('a report being described when the session ends comes back at its place, as typed, and saves there', async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  const { page } = operator
  const [lat, lon] = ['62.12345', '-35.54321']
  await page.getByTestId('report-incident').click()
  await page.getByTestId('report-lat').fill(lat)
  await page.getByTestId('report-lon').fill(lon)
  await page.getByTestId('report-describe').click()
  const form = page.getByTestId('form-dialog')
  const name = `Avalanche ${run}`
  await form.getByLabel('Name').fill(name)
  await form.getByLabel('Description').fill('the pass road is buried')

  await endSessionOf(operator)
  await expect(page.getByTestId('login-notice')).toContainText('Your session ended')
  await page.getByLabel('Username').fill(operator.username)
  await page.getByLabel('Password').fill(operator.password)
  await page.getByRole('button', { name: 'Sign in' }).click()

  const restored = page.getByTestId('form-dialog')
  await expect(restored.getByLabel('Name')).toHaveValue(name)
  await expect(restored.getByLabel('Description')).toHaveValue('the pass road is buried')
  await expect(restored.getByLabel('Location (latitude, longitude)')).toHaveValue(`${lat}, ${lon}`)
  await restored.getByRole('button', { name: 'Save' }).click()
  await expect(restored).toBeHidden()
  const found = await (await (await adminApi())('GET', `/api/incidents?q=${encodeURIComponent(name)}`)).json() as { features: { geometry: { coordinates: number[] } }[] }
  expect(found.features).toHaveLength(1)
  expect(found.features[0]!.geometry.coordinates).toEqual([Number(lon), Number(lat)])
  expect(operator.errors.filter((e) => !refused.test(e))).toEqual([])
})

test('a sign-out on purpose shows the plain sign-in form, and a draft is never given to another user who signs in on that screen', async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  const { page } = operator
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page.getByTestId('login-form')).toBeVisible()
  await expect(page.getByTestId('login-notice')).toBeHidden()

  // signed in again, an edit is typed into when the session ends
  await page.getByLabel('Username').fill(operator.username)
  await page.getByLabel('Password').fill(operator.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  const [lon, lat] = [-38, 61]
  const admin = await adminApi()
  const createdIncident = await admin('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { name: `Road closed ${run}`, description: '', severity: 'low' },
  })
  const id = ((await createdIncident.json()) as { properties: { id: number } }).properties.id
  await view(page, lon, lat, 12)
  await page.locator(`.incident-pin[data-incident-id="${id}"]`).click()
  await page.getByTestId('incident-popup').getByTestId('edit-incident').click()
  await page.getByTestId('form-dialog').getByLabel('Name').fill(`Road reopened ${run}`)
  await endSessionOf(operator)
  await expect(page.getByTestId('login-notice')).toContainText('Your session ended')

  // someone else signs in at that screen: the form is not theirs
  const other = { username: `relief${run}`, password: 'relief-password-1' }
  expect((await admin('POST', '/api/users', { ...other, role: 'operator' })).status).toBe(201)
  await page.getByLabel('Username').fill(other.username)
  await page.getByLabel('Password').fill(other.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.getByTestId('form-dialog')).toHaveCount(0)
  expect(operator.errors.filter((e) => !refused.test(e))).toEqual([])
})

test('warns a few minutes before the session ends at its absolute expiry, saying when', async ({ browser }) => {
  operator = await signedIn(browser, 'operator')
  const { page } = operator
  const { expires } = (await page.evaluate(() => fetch('/api/auth/session').then((r) => r.json()))) as { expires: string }
  await expect(page.getByTestId('session-expiry-warning')).toHaveCount(0)
  // the page's clock jumps to six minutes before the expiry, then on by two: the warning shows once
  await page.clock.install({ time: Date.now() })
  await page.reload()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await page.clock.fastForward(new Date(expires).getTime() - 6 * 60_000 - Date.now())
  await expect(page.getByTestId('session-expiry-warning')).toHaveCount(0)
  await page.clock.fastForward(2 * 60_000)
  const warning = page.getByTestId('session-expiry-warning')
  await expect(warning).toHaveCount(1)
  const at = await page.evaluate((expires) => new Date(expires).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), expires)
  await expect(warning).toContainText(`Your session ends at ${at}`)
  await page.clock.fastForward(30_000)
  await expect(warning).toHaveCount(1)
})
