import { test, expect, type Browser, type Page } from '@playwright/test'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, killAllServers, launchServer, type ServerProcess } from '../helpers/server-process.ts'
import { createDatabase } from '../helpers/postgres.ts'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts'
import { signIn } from '../helpers/sign-in.ts'
import { screenshot } from './fixtures.ts'

// Alerts off the dashboard, as people set them up in it: a viewer's alert
// mail (and its link back to the incident), an operator's webhook with its
// secret shown once, and an admin retrying a delivery that failed.
//
// The shared e2e server has no mail server and refuses loopback webhooks, so
// this spec starts its own: on a PostgreSQL database of its own, with a real
// SMTP server, loopback webhooks allowed, and one attempt per delivery (a
// refused POST fails at once, for the admin to see).

const ADMIN_PASSWORD = 'alert-delivery-admin-password'
const PUBLIC_URL = 'http://tracker.test'
// a stretch of the Southern Ocean no other spec uses
const [lon, lat] = [100, -50]
const areaName = 'Kerguelen shelf'

let server: ServerProcess
let smtp: SmtpSink
let dropDatabase: () => Promise<void>
let areaId: number

type Api = (method: string, url: string, body?: unknown) => Promise<Response>

async function apiAs(username: string, password: string): Promise<Api> {
  const { key } = await signIn(server.url, username, password)
  return (method, url, body) =>
    fetch(`${server.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
}
const adminApi = () => apiAs('admin', ADMIN_PASSWORD)

let people = 0
async function newUser(role: 'viewer' | 'operator', email?: string) {
  const admin = await adminApi()
  const username = `${role}-${++people}`
  const password = `${role}-password-${people}`
  const created = await admin('POST', '/api/users', { username, password, role })
  expect(created.status).toBe(201)
  const { id } = (await created.json()) as { id: number }
  if (email) expect((await admin('PATCH', `/api/users/${id}`, { email })).status).toBe(200)
  return { id, username, password }
}

/** A browser context signed in through the form, with its page on the dashboard. */
async function signedInPage(browser: Browser, username: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: server.url })
  const page = await context.newPage()
  await page.goto('/')
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.getByTestId('connection-state')).toHaveText('connected')
  return page
}

async function reportIncident(name: string, dLon = 0): Promise<number> {
  const created = await (await adminApi())('POST', '/api/incidents', {
    type: 'Feature', geometry: { type: 'Point', coordinates: [lon + dLon, lat] }, properties: { name, description: '', severity: 'urgent' },
  })
  expect(created.status).toBe(201)
  return ((await created.json()) as { properties: { id: number } }).properties.id
}

/** An HTTP endpoint on loopback that answers 204 and keeps what it was sent. */
async function startReceiver(port = 0): Promise<{ url: string; port: number; posts: { headers: IncomingHttpHeaders; body: string }[]; close(): Promise<void> }> {
  const posts: { headers: IncomingHttpHeaders; body: string }[] = []
  const receiver: Server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      posts.push({ headers: request.headers, body })
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve))
  const bound = (receiver.address() as { port: number }).port
  return { url: `http://127.0.0.1:${bound}/hook`, port: bound, posts, close: () => new Promise((resolve) => receiver.close(() => resolve())) }
}

test.beforeAll(async () => {
  test.setTimeout(180_000)
  smtp = await startSmtpSink()
  const database = await createDatabase()
  dropDatabase = database.drop
  server = await launchServer({
    DATABASE_URL: database.url,
    DATA_DIR: join(mkdtempSync(join(tmpdir(), 'e2e-delivery-')), 'data'),
    ADMIN_PASSWORD,
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    SMTP_URL: smtp.url,
    PUBLIC_URL,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    DELIVERY_ATTEMPTS: '1',
    TILE_URL: 'http://127.0.0.1:9/no-tiles/{z}/{x}/{y}.png',
  })
  await server.healthy()
  const area = await (await adminApi())('POST', '/api/areas', {
    type: 'Feature',
    properties: { name: areaName, severity: 'high' },
    geometry: { type: 'Polygon', coordinates: [[[lon - 1, lat - 1], [lon + 1, lat - 1], [lon + 1, lat + 1], [lon - 1, lat + 1], [lon - 1, lat - 1]]] },
  })
  expect(area.status).toBe(201)
  areaId = ((await area.json()) as { properties: { id: number } }).properties.id
})

test.afterAll(async () => {
  if (server?.exit()) console.error(server.describe())
  await server?.stop().catch(() => killAllServers())
  await smtp?.close()
  await dropDatabase?.()
})

test('a viewer turns alert mail on once an admin has set their address, a reload shows it on, and the mail’s link opens the incident', async ({ browser }) => {
  const viewer = await newUser('viewer')
  await newUser('viewer', 'bystander@example.test') // has an address, never turned mail on
  const page = await signedInPage(browser, viewer.username, viewer.password)
  // viewers manage neither webhooks nor deliveries
  await expect(page.getByTestId('open-webhooks')).toHaveCount(0)
  await expect(page.getByTestId('open-deliveries')).toHaveCount(0)

  const dialog = page.getByRole('dialog', { name: 'Alert mail' })
  await page.getByRole('button', { name: 'Alert mail' }).click()
  await expect(dialog.getByTestId('alert-mail-address')).toHaveText('Your account has no email address. An admin must set one before alert mail can be turned on.')
  await expect(dialog.getByLabel('Email me new alerts')).toBeDisabled()
  await dialog.getByRole('button', { name: 'Close' }).click()
  await expect(dialog).toHaveCount(0)

  expect((await (await adminApi())('PATCH', `/api/users/${viewer.id}`, { email: 'viewer@example.test' })).status).toBe(200)
  await page.getByRole('button', { name: 'Alert mail' }).click()
  await expect(dialog.getByTestId('alert-mail-address')).toHaveText('Alert mail goes to viewer@example.test.')
  await dialog.getByLabel('Email me new alerts').check()
  await dialog.getByLabel('Minimum severity').selectOption('medium')
  await dialog.getByLabel('Only the areas chosen below').check()
  // saving with none chosen is refused in place, saying why
  await dialog.getByRole('button', { name: 'Save' }).click()
  await expect(dialog.getByTestId('form-error')).toHaveText('choose at least one area, or all areas')
  await dialog.getByLabel('Find an area').fill('kergu')
  await dialog.getByLabel(areaName).check()
  await expect(dialog.getByTestId('areas-chosen')).toHaveText('1 chosen')
  await screenshot(page, 'alert-mail-settings')
  await dialog.getByRole('button', { name: 'Save' }).click()
  await expect(dialog).toHaveCount(0)
  await expect(page.getByTestId('notice-toast')).toContainText('Alert mail on: medium and above, to viewer@example.test')

  await page.reload()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await page.getByRole('button', { name: 'Alert mail' }).click()
  await expect(dialog.getByLabel('Email me new alerts')).toBeChecked()
  await expect(dialog.getByLabel('Minimum severity')).toHaveValue('medium')
  await expect(dialog.getByLabel('Only the areas chosen below')).toBeChecked()
  await expect(dialog.getByLabel(areaName)).toBeChecked()
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // an alert in that area reaches the viewer by mail, and not the bystander
  const incident = await reportIncident('Trawler adrift')
  await expect.poll(() => smtp.to('viewer@example.test').length, { timeout: 20_000 }).toBe(1)
  const link = /http:\/\/tracker\.test(\/\?incident=\d+)/.exec(smtp.to('viewer@example.test')[0]!.text)
  expect(link?.[1]).toBe(`/?incident=${incident}`)
  expect(smtp.to('bystander@example.test')).toHaveLength(0)

  // the mail's link, on this server, with a parameter of the page's own that stays
  await page.goto(`${link![1]}&layer=roads#here`)
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.locator('.leaflet-popup')).toContainText('Trawler adrift')
  await screenshot(page, 'incident-link-opened')
  expect(new URL(page.url()).search).toBe('?layer=roads')
  // the fragment's own part stays; the map's view joins it (ui/view-link.ts)
  expect(new URL(page.url()).hash).toMatch(/^#here&map=17\/[-\d.]+\/[-\d.]+$/)

  // an incident deleted since the mail went out
  await page.goto('/?incident=2000000000')
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.getByTestId('notice-toast')).toHaveText('Incident 2000000000 does not exist: it may have been deleted since the link was sent.')
  await expect(page.locator('.leaflet-popup')).toHaveCount(0)
  await page.context().close()
})

test('an operator registers a webhook and sees its signing secret once, shown only now', async ({ browser }) => {
  const operator = await newUser('operator')
  const receiver = await startReceiver()
  const page = await signedInPage(browser, operator.username, operator.password)
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])
  await expect(page.getByTestId('open-deliveries')).toHaveCount(0) // admins only

  const dialog = page.getByRole('dialog', { name: 'Webhooks' })
  await page.getByRole('button', { name: 'Webhooks' }).click()
  await expect(dialog.getByTestId('webhook-list')).toHaveText('No webhooks yet.')

  // an internal address not allowed is refused, the server's reason in place
  await dialog.getByLabel('URL').fill('http://10.1.2.3/hook')
  await dialog.getByRole('button', { name: 'Add webhook' }).click()
  await expect(dialog.getByTestId('form-error')).toContainText('url refused: 10.1.2.3 resolves to 10.1.2.3, a private, loopback or link-local address')

  await dialog.getByLabel('URL').fill(receiver.url)
  await dialog.getByLabel('Minimum severity').selectOption('urgent')
  await dialog.getByRole('button', { name: 'Add webhook' }).click()
  const secretBox = dialog.getByTestId('webhook-secret')
  await expect(secretBox).toContainText(`Signing secret for ${receiver.url}, shown only now.`)
  const secret = await secretBox.getByLabel('Secret').inputValue()
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{20,}$/)
  await secretBox.getByRole('button', { name: 'Copy' }).click()
  await expect(secretBox.getByTestId('copy-state')).toHaveText('Copied.')
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
  await screenshot(page, 'webhook-secret-shown-once')
  const item = dialog.getByTestId('webhook-item')
  await expect(item).toHaveCount(1)
  await expect(item).toContainText(receiver.url)
  await expect(item).toContainText(`urgent and above · all areas · by ${operator.username}`)

  // once only: gone when dismissed, not in the list read again, nor from the API
  await secretBox.getByRole('button', { name: 'Done' }).click()
  await expect(secretBox).toBeHidden()
  await dialog.getByRole('button', { name: 'Close' }).click()
  await page.getByRole('button', { name: 'Webhooks' }).click()
  await expect(dialog.getByTestId('webhook-item')).toContainText(receiver.url)
  expect(await page.content()).not.toContain(secret)
  const listed = await (await (await adminApi())('GET', '/api/webhooks')).text()
  expect(listed).not.toContain(secret)

  // deleting asks first; declined, it stays
  page.once('dialog', (confirm) => void confirm.dismiss())
  await dialog.getByRole('button', { name: `Delete the webhook to ${receiver.url}` }).click()
  await expect(dialog.getByTestId('webhook-item')).toHaveCount(1)
  page.once('dialog', (confirm) => {
    expect(confirm.message()).toContain(`Delete the webhook to ${receiver.url}?`)
    void confirm.accept()
  })
  await dialog.getByRole('button', { name: `Delete the webhook to ${receiver.url}` }).click()
  await expect(dialog.getByTestId('webhook-list')).toHaveText('No webhooks yet.')
  await page.context().close()
  await receiver.close()
})

test('an admin sees a webhook delivery that failed, and retries it once the endpoint is back, seeing the job’s notice', async ({ browser }) => {
  // an endpoint that is down: nothing listens on its port
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/down`
  const admin = await adminApi()
  const registered = await admin('POST', '/api/webhooks', { url, min_severity: 'info', areas: [areaId] })
  expect(registered.status).toBe(201)
  const webhookId = ((await registered.json()) as { id: number }).id
  await reportIncident('Iceberg sighted', 0.2)

  const page = await signedInPage(browser, 'admin', ADMIN_PASSWORD)
  const dialog = page.getByRole('dialog', { name: 'Deliveries' })
  await page.getByRole('button', { name: 'Deliveries' }).click()
  await expect(dialog.getByLabel('Show')).toHaveValue('failed') // what needs a look, first
  const failed = dialog.getByTestId('delivery-item').filter({ hasText: 'alert by webhook' }).filter({ hasText: url })
  await expect(async () => {
    await dialog.getByRole('button', { name: 'Refresh' }).click()
    await expect(failed).toHaveCount(1, { timeout: 1000 })
  }).toPass({ timeout: 20_000 })
  await expect(failed.getByTestId('delivery-state')).toHaveText('failed')
  await expect(failed.getByTestId('delivery-error')).toContainText('ECONNREFUSED')
  await expect(failed).toContainText('1 attempt')
  await screenshot(page, 'deliveries-failed')
  const deliveryId = Number(await failed.getAttribute('data-delivery-id'))

  // the endpoint is back; the retry sends it, and the job says so on this page
  const receiver = await startReceiver(port)
  await failed.getByRole('button', { name: `Retry delivery ${deliveryId}` }).click()
  await expect(page.getByTestId('job-notice')).toHaveText(`Retry of delivery ${deliveryId}: sent`)
  await expect(dialog.locator(`[data-testid=delivery-item][data-delivery-id="${deliveryId}"]`)).toHaveCount(0) // no longer failed
  expect(receiver.posts.map((post) => post.headers['webhook-id'])).toContain(`msg_delivery_${deliveryId}`)

  await dialog.getByLabel('Show').selectOption('sent')
  const sent = dialog.locator(`[data-testid=delivery-item][data-delivery-id="${deliveryId}"]`)
  await expect(sent.getByTestId('delivery-state')).toHaveText('sent')
  await expect(sent).toContainText('2 attempts')
  await expect(sent.getByRole('button', { name: /Retry/ })).toHaveCount(0)

  expect((await admin('DELETE', `/api/webhooks/${webhookId}`)).status).toBe(204)
  await page.context().close()
  await receiver.close()
})
