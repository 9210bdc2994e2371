import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Revocation } from '../../../../../server/auth/session-events.ts'
import { BACKENDS, bearer, startTestServer, type TestServer } from '../../../../helpers/test-server.ts'

// PUT /api/me/password: everyone changes their own password, proving the current one.

describe.each(BACKENDS)('changing my own password on %s', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer(backend, { LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE: '3' })
  })
  afterAll(() => server?.close())

  const change = (key: string, payload: object) => server.app.inject({ method: 'PUT', url: '/api/me/password', headers: bearer(key), payload })
  const me = (key: string) => server.app.inject({ method: 'GET', url: '/api/me', headers: bearer(key) })
  const signInStatus = async (username: string, password: string) =>
    (await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } })).statusCode

  it('takes the new password, keeps this session and signs out the others', async () => {
    const user = await server.user('viewer')
    const elsewhere = await server.login(user.username, user.password)
    const heard: Revocation[] = []
    const off = server.app.sessionEvents.onRevoked((r) => void heard.push(r))
    const response = await change(user.key, { current_password: user.password, new_password: 'a-new-password-1' })
    off()
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({ other_sessions_signed_out: 1 })
    expect((await me(user.key)).statusCode).toBe(200)
    expect((await me(elsewhere)).statusCode).toBe(401)
    expect(heard).toHaveLength(1)
    expect(heard[0]!.sessionIds).toHaveLength(1)
    expect(await signInStatus(user.username, 'a-new-password-1')).toBe(200)
    expect(await signInStatus(user.username, user.password)).toBe(401)
  })

  it('refuses a wrong current password with a 400 naming current_password, and changes nothing', async () => {
    const user = await server.user('operator')
    const elsewhere = await server.login(user.username, user.password)
    const response = await change(user.key, { current_password: 'not-my-password', new_password: 'a-new-password-2' })
    expect(response.statusCode).toBe(400)
    const problem = response.json()
    expect(problem.detail).toMatch(/current_password/)
    expect(problem.errors).toEqual([expect.objectContaining({ field: '/current_password', in: 'body' })])
    // neither password is echoed
    expect(response.body).not.toContain('not-my-password')
    expect(response.body).not.toContain('a-new-password-2')
    expect((await me(elsewhere)).statusCode).toBe(200)
    expect(await signInStatus(user.username, user.password)).toBe(200)
  })

  it('answers bad input with a 400 naming the field', async () => {
    const user = await server.user('viewer')
    const short = await change(user.key, { current_password: user.password, new_password: 'short' })
    expect(short.statusCode).toBe(400)
    expect(short.json().errors[0].field).toBe('/new_password')
    const missing = await change(user.key, { new_password: 'long-enough-1' })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().detail).toMatch(/current_password/)
    const extra = await change(user.key, { current_password: user.password, new_password: 'long-enough-1', role: 'admin' })
    expect(extra.statusCode).toBe(400)
    expect(extra.json().detail).toMatch(/role/)
  })

  it('limits wrong current passwords per user, as sign-in limits them per username; the right one still counts for nothing', async () => {
    const user = await server.user('viewer')
    // a right one gives its place back
    expect((await change(user.key, { current_password: user.password, new_password: user.password })).statusCode).toBe(200)
    for (let i = 0; i < 3; i++) {
      expect((await change(user.key, { current_password: `guess-${i}`, new_password: 'a-new-password-3' })).statusCode).toBe(400)
    }
    const limited = await change(user.key, { current_password: user.password, new_password: 'a-new-password-3' })
    expect(limited.statusCode).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // another user is not held up by it
    const other = await server.user('viewer')
    expect((await change(other.key, { current_password: other.password, new_password: 'a-new-password-4' })).statusCode).toBe(200)
  })

  it('needs a session', async () => {
    const response = await server.app.inject({ method: 'PUT', url: '/api/me/password', payload: { current_password: 'x', new_password: 'long-enough-1' } })
    expect(response.statusCode).toBe(401)
  })
})
