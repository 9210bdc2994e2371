import { test as base, expect, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { signIn } from '../helpers/sign-in.ts'
import { connect, type LiveClient } from '../helpers/ws-client.ts'

const BASE = process.env.E2E_BASE_URL!
const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD!

export interface Person {
  username: string
  password: string
  context: BrowserContext
  page: Page
  /** console errors and page errors seen so far (a failed tile fetch is expected offline and not counted) */
  errors: string[]
}

let counter = 0

async function apiAs(username: string, password: string) {
  const { key: session_key } = await signIn(BASE, username, password)
  return (method: string, url: string, body?: unknown) =>
    fetch(`${BASE}${url}`, {
      method,
      headers: { authorization: `Bearer ${session_key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
}

/**
 * A live socket signed in as admin, from the test runner (never offline): once
 * it has a notification, the server has sent it to every socket, so a page
 * that has not got it did not get it.
 */
export async function liveWatcher(): Promise<LiveClient> {
  const { key } = await signIn(BASE, 'admin', ADMIN_PASSWORD)
  return connect(`${BASE.replace('http', 'ws')}/ws`, { authorization: `Bearer ${key}` })
}

/** A REST client signed in as admin, for setting up data the test is not about. */
export const adminApi = () => apiAs('admin', ADMIN_PASSWORD)

/** Creates a user with this role, opens a browser context (with `options`, e.g. a touch screen) and signs in through the form. */
export async function signedIn(browser: Browser, role: 'viewer' | 'operator', options: BrowserContextOptions = {}): Promise<Person> {
  const admin = await adminApi()
  const username = `${role}${Date.now() % 100000}${counter++}`
  const password = `${role}-password-1`
  const created = await admin('POST', '/api/users', { username, password, role })
  expect(created.status).toBe(201)
  const context = await browser.newContext(options)
  // a CSP violation is an error like any other: every spec that expects none proves the dashboard passes the policy
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
  )
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/no-tiles|Failed to load resource: net::ERR_INTERNET_DISCONNECTED/.test(m.text() + (m.location().url ?? ''))) errors.push(m.text())
  })
  await page.goto('/')
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('body[data-ready=true]')).toBeAttached()
  await expect(page.getByTestId('connection-state')).toHaveText('connected')
  return { username, password, context, page, errors }
}

export async function screenshot(page: Page, name: string) {
  mkdirSync('test-results/screenshots', { recursive: true })
  await page.screenshot({ path: `test-results/screenshots/${name}.png` })
}

/** Centres the page's map on [lon, lat] at `zoom`, at once (no animation). */
export async function view(page: Page, lon: number, lat: number, zoom: number) {
  await page.evaluate(([lon, lat, zoom]) => (window as unknown as { __map__: { setView(at: [number, number], zoom: number, options: object): void } }).__map__.setView([lat!, lon!], zoom!, { animate: false }), [lon, lat, zoom])
}

/** Pixel position of a [lon, lat] on the page's map. */
export async function pointOnMap(page: Page, lon: number, lat: number): Promise<{ x: number; y: number }> {
  return page.evaluate(([lon, lat]) => (window as unknown as { __map__: { latLngToContainerPoint(ll: [number, number]): { x: number; y: number } } }).__map__.latLngToContainerPoint([lat!, lon!]), [lon, lat])
}

export const test = base
export { expect }
