import { test, expect, signedIn, adminApi, screenshot, type Person } from './fixtures.ts'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { attemptSignIn } from '../helpers/sign-in.ts'

// Users in the page (issue #16, defect 8): an admin manages users from the
// dashboard, the last admin is kept with the rule said in words, and
// everyone changes their own password.

const BASE = process.env.E2E_BASE_URL!
const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD!
const run = Date.now() % 100000
const contexts: BrowserContext[] = []
const people: Person[] = []

test.afterAll(async () => {
  for (const context of contexts) await context.close()
  for (const person of people) await person.context.close()
})

async function signInThroughForm(page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.getByTestId('connection-state')).toHaveText('connected')
}

async function adminPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext()
  contexts.push(context)
  const page = await context.newPage()
  await page.goto('/')
  await signInThroughForm(page, 'admin', ADMIN_PASSWORD)
  return page
}

async function openUsers(page: Page) {
  await page.getByRole('button', { name: 'Users', exact: true }).click()
  const dialog = page.getByRole('dialog', { name: 'Users' })
  await expect(dialog.getByTestId('user-row').first()).toBeVisible()
  return dialog
}

const signInStatus = async (username: string, password: string) => (await attemptSignIn(BASE, username, password)).status

async function roleOnServer(username: string) {
  const users = (await (await (await adminApi())('GET', '/api/users')).json()) as { username: string; role: string }[]
  return users.find((u) => u.username === username)?.role
}

test('an admin adds a user, changes their role, resets their password and deletes them', async ({ browser }) => {
  const page = await adminPage(browser)
  const users = await openUsers(page)
  const username = `newcomer${run}`

  const add = users.getByRole('form', { name: 'Add a user' })
  await add.getByLabel('Username').fill(username)
  await add.getByLabel('Password').fill('first-password-1')
  await add.getByLabel('Role').selectOption('viewer')
  await add.getByLabel('Email (optional)').fill(`${username}@example.test`)
  await add.getByRole('button', { name: 'Add user' }).click()
  const row = users.getByTestId('user-row').filter({ hasText: username })
  await expect(row).toContainText(`${username}@example.test`)
  await expect(row.getByLabel(`Role of ${username}`)).toHaveValue('viewer')
  expect(await signInStatus(username, 'first-password-1')).toBe(200)
  await screenshot(page, 'users-page')

  await row.getByLabel(`Role of ${username}`).selectOption('operator')
  await expect(users.getByTestId('users-status')).toHaveText(`${username} is now operator; their sessions were signed out.`)
  await expect(row.getByLabel(`Role of ${username}`)).toHaveValue('operator')
  expect(await roleOnServer(username)).toBe('operator')

  await row.getByRole('button', { name: 'Reset password' }).click()
  const reset = page.getByTestId('form-dialog')
  await reset.getByLabel('New password').fill('second-password-2')
  await reset.getByRole('button', { name: 'Reset password' }).click()
  await expect(reset).toHaveCount(0)
  await expect(users.getByTestId('users-status')).toContainText(`The password of ${username} was reset`)
  expect(await signInStatus(username, 'second-password-2')).toBe(200)
  expect(await signInStatus(username, 'first-password-1')).toBe(401)

  await row.getByRole('button', { name: 'Delete' }).click()
  const confirm = page.getByTestId('form-dialog')
  await expect(confirm).toContainText(`Delete user ${username}?`)
  await confirm.getByRole('button', { name: 'Delete' }).click()
  await expect(row).toHaveCount(0)
  await expect(users.getByTestId('users-status')).toHaveText(`Deleted ${username}.`)
  expect(await roleOnServer(username)).toBeUndefined()
  expect(await signInStatus(username, 'second-password-2')).toBe(401)
})

test('demoting or deleting the last admin is refused, and the page says why', async ({ browser }) => {
  // the shared server has one admin; were there another, this test would demote it for real
  const all = (await (await (await adminApi())('GET', '/api/users')).json()) as { username: string; role: string }[]
  expect(all.filter((u) => u.role === 'admin').map((u) => u.username)).toEqual(['admin'])

  const page = await adminPage(browser)
  const users = await openUsers(page)
  const row = users.getByTestId('user-row').filter({ has: page.getByRole('rowheader', { name: 'admin (you)', exact: true }) })
  const rule = /admin is the last admin\. There must always be at least one admin, or nobody could manage users from the dashboard again\. Make another user admin first\./

  await row.getByLabel('Role of admin').selectOption('operator')
  await expect(users.getByTestId('users-error')).toHaveText(new RegExp(`^Refused: ${rule.source}$`))
  await expect(row.getByLabel('Role of admin')).toHaveValue('admin')
  expect(await roleOnServer('admin')).toBe('admin')

  await row.getByRole('button', { name: 'Delete' }).click()
  const confirm = page.getByTestId('form-dialog')
  await confirm.getByRole('button', { name: 'Delete' }).click()
  await expect(confirm.getByTestId('form-error')).toHaveText(rule)
  await confirm.getByRole('button', { name: 'Cancel' }).click()
  await expect(confirm).toHaveCount(0)
  expect(await roleOnServer('admin')).toBe('admin')
})

test('a user changes their own password and signs in with the new one', async ({ browser }) => {
  const viewer = await signedIn(browser, 'viewer')
  people.push(viewer)
  const { page } = viewer
  // viewers manage no one
  await expect(page.getByRole('button', { name: 'Users', exact: true })).toHaveCount(0)

  await page.getByRole('button', { name: 'Change password' }).click()
  const form = page.getByTestId('form-dialog')
  await form.getByLabel('Current password').fill('not-my-password')
  await form.getByLabel(/^New password \(/).fill('my-new-password-1')
  await form.getByLabel('New password again').fill('my-new-password-1')
  await form.getByRole('button', { name: 'Change password' }).click()
  await expect(form.getByTestId('form-error')).toHaveText('The current password is not right.')

  await form.getByLabel('Current password').fill(viewer.password)
  await form.getByRole('button', { name: 'Change password' }).click()
  await expect(form).toHaveCount(0)
  await expect(page.getByTestId('notice-toast').filter({ hasText: 'Your password was changed.' })).toBeVisible()
  // still signed in here
  await expect(page.getByTestId('connection-state')).toHaveText('connected')

  await page.getByRole('button', { name: 'Sign out' }).click()
  await signInThroughForm(page, viewer.username, 'my-new-password-1')
  expect(await signInStatus(viewer.username, viewer.password)).toBe(401)
})
