import { test, expect, type Browser, type BrowserContext } from '@playwright/test'
import { launchServer, type ServerProcess } from '../helpers/server-process.ts'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts'
import { createDatabase } from '../helpers/postgres.ts'
import { waitUntil } from '../helpers/wait.ts'
import { screenshot } from './fixtures.ts'

// An admin invites an address from the dashboard; the mail arrives at a real
// SMTP server; its link opens a page where the invitee chooses a username
// and password and lands on the dashboard signed in with the invited role.
// The shared e2e server has no mail server, so this spec starts its own,
// pointed at the spec's SMTP sink, with the jobs in process; on a database
// of its own in the test PostgreSQL (a second embedded database would start
// far slower on a busy machine).

const ADMIN_PASSWORD = 'invitations-e2e-admin-password'
const LINK = /(http:\/\/127\.0\.0\.1:\d+\/invitation\/[A-Za-z0-9_-]+)/

let smtp: SmtpSink
let server: ServerProcess
let database: Awaited<ReturnType<typeof createDatabase>> | undefined
const contexts: BrowserContext[] = []

test.beforeAll(async () => {
  test.setTimeout(180_000)
  smtp = await startSmtpSink()
  database = await createDatabase()
  // PUBLIC_URL is left to its default, this server's own address: the mailed link leads back here
  server = await launchServer({ DATABASE_URL: database.url, ADMIN_PASSWORD, SMTP_URL: smtp.url, LOGIN_RATE_LIMIT_PER_MINUTE: '1000' })
  await server.healthy(150_000)
})

test.afterAll(async () => {
  for (const context of contexts) await context.close()
  await server?.stop()
  await smtp?.close()
  await database?.drop()
})

async function newPage(browser: Browser) {
  const context = await browser.newContext()
  contexts.push(context)
  return context.newPage()
}

test('an invited address gets a mail whose link makes an account with the role and signs it in, once', async ({ browser }) => {
  const email = `invitee-${Date.now() % 100000}@example.test`
  const username = `invitee${Date.now() % 100000}`

  // the admin invites from the dashboard
  const admin = await newPage(browser)
  await admin.goto(server.url)
  await admin.getByLabel('Username').fill('admin')
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD)
  await admin.getByRole('button', { name: 'Sign in' }).click()
  await expect(admin.getByTestId('connection-state')).toHaveText('connected')
  await admin.getByRole('button', { name: 'Invitations' }).click()
  const dialog = admin.getByRole('dialog', { name: 'Invitations' })
  await dialog.getByLabel('Email').fill(email)
  await dialog.getByLabel('Role').selectOption('operator')
  await dialog.getByRole('button', { name: 'Invite', exact: true }).click()
  const row = dialog.getByTestId('invitation-row').filter({ hasText: email })
  await expect(row).toBeVisible()

  // the job reports to the admin's socket; the mail is at the SMTP server
  await expect(admin.getByTestId('job-toast').filter({ hasText: `Invitation mail to ${email} sent` })).toBeVisible()
  await expect(row.getByTestId('invitation-state')).toHaveText('sent')
  await waitUntil(() => smtp.to(email).length === 1, { what: `the invitation mail to ${email}` })
  const link = LINK.exec(smtp.to(email)[0]!.text)![1]!
  expect(link.startsWith(`${server.url}/invitation/`)).toBe(true)

  // the invitee opens the link, chooses a username and password, and lands signed in
  const invitee = await newPage(browser)
  await invitee.goto(link)
  await expect(invitee.getByRole('heading', { name: 'Join the incident tracker' })).toBeVisible()
  await expect(invitee.getByText(email)).toBeVisible()
  await screenshot(invitee, 'invitation-page')
  await invitee.getByLabel('Username').fill(username)
  await invitee.getByLabel('Password').fill('a-password-of-my-own')
  await invitee.getByRole('button', { name: 'Create my account' }).click()
  await expect(invitee).toHaveURL(`${server.url}/`)
  await expect(invitee.getByTestId('current-user')).toHaveText(`${username} (operator)`)
  await expect(invitee.getByTestId('connection-state')).toHaveText('connected')

  // the admin's list shows it accepted, by whom
  await dialog.getByRole('button', { name: 'Close' }).click()
  await admin.getByRole('button', { name: 'Invitations' }).click()
  await expect(row.getByTestId('invitation-state')).toHaveText('accepted')
  await expect(row).toContainText(username)
  await screenshot(admin, 'invitations-accepted')

  // a second use of the link gets a page that says so, and signs nobody in
  const again = await newPage(browser)
  const response = await again.goto(link)
  expect(response!.status()).toBe(410)
  await expect(again.getByRole('heading', { name: 'This invitation was already used' })).toBeVisible()
  await expect(again.getByRole('button', { name: 'Create my account' })).toHaveCount(0)
  await screenshot(again, 'invitation-used')
})
