import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { Revocation } from '../../../../../server/auth/session-events.ts'
import { attemptSignIn } from '../../../../helpers/sign-in.ts'
import { BACKENDS, bearer, startTestServer, type TestServer } from '../../../../helpers/test-server.ts'

describe.each(BACKENDS)('sessions on %s', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer(backend)
  })
  afterAll(() => server?.close())

  const me = (headers: Record<string, string>) => server.app.inject({ method: 'GET', url: '/api/me', headers })
  const login = (username: string, password: string, ip = '10.0.0.1') => attemptSignIn(server.app, username, password, { remoteAddress: ip })

  it('signs in with an HttpOnly, SameSite=Strict cookie holding the same 256-bit key it returns', async () => {
    const user = await server.user('operator')
    const response = await login(user.username, user.password, '10.0.1.1')
    expect(response.status).toBe(200)
    const body = response.body
    expect(body.user).toEqual({ id: user.id, username: user.username, role: 'operator' })
    expect(body.session_key).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const cookie = response.cookies.find((c) => c.name === 'session')!
    expect(cookie).toMatchObject({ value: body.session_key, httpOnly: true, sameSite: 'Strict', path: '/' })
  })

  it('stores only a hash of the key', async () => {
    const user = await server.user('viewer')
    const rows = await server.app.db.selectFrom('sessions').select('key_hash').where('user_id', '=', user.id).execute()
    expect(rows).toEqual([{ key_hash: createHash('sha256').update(user.key).digest('hex') }])
    const everything = JSON.stringify(await server.app.db.selectFrom('sessions').selectAll().execute())
    expect(everything).not.toContain(user.key)
  })

  it('answers a wrong password and an unknown user with the same 401', async () => {
    const user = await server.user('viewer')
    const wrongPassword = await login(user.username, 'not-the-password', '10.0.2.1')
    const unknownUser = await login('nobody-by-this-name', 'not-the-password', '10.0.2.2')
    expect(wrongPassword.status).toBe(401)
    expect(unknownUser.status).toBe(401)
    expect(wrongPassword.body).toEqual(unknownUser.body)
    expect(wrongPassword.cookies).toEqual([])
  })

  it('accepts the key from the cookie, a Bearer header or ?session_key=', async () => {
    const user = await server.user('viewer')
    expect((await me({ cookie: `session=${user.key}` })).json().username).toBe(user.username)
    expect((await me(bearer(user.key))).json().username).toBe(user.username)
    const viaQuery = await server.app.inject({ method: 'GET', url: `/api/incidents?session_key=${user.key}&limit=5` })
    expect(viaQuery.statusCode).toBe(200)
  })

  it('refuses a missing, malformed or unknown key with 401', async () => {
    expect((await me({})).statusCode).toBe(401)
    expect((await me(bearer('short'))).statusCode).toBe(401)
    expect((await me(bearer('A'.repeat(43)))).statusCode).toBe(401)
  })

  it('signs out: the key stops working and listeners hear of the revocation', async () => {
    const user = await server.user('viewer')
    const heard: Revocation[] = []
    const off = server.app.sessionEvents.onRevoked((r) => void heard.push(r))
    const response = await server.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(user.key) })
    off()
    expect(response.statusCode).toBe(204)
    expect((await me(bearer(user.key))).statusCode).toBe(401)
    expect(heard).toHaveLength(1)
    expect(heard[0]!.sessionIds).toHaveLength(1)
  })

  it('expires a session after its idle time and after its absolute lifetime', async () => {
    const idle = await server.user('viewer')
    const absolute = await server.user('viewer')
    const past = sql<Date>`now() - interval '1 second'`
    await server.app.db.updateTable('sessions').set({ idle_expires: past }).where('user_id', '=', idle.id).execute()
    await server.app.db.updateTable('sessions').set({ absolute_expires: past } as never).where('user_id', '=', absolute.id).execute()
    expect((await me(bearer(idle.key))).statusCode).toBe(401)
    expect((await me(bearer(absolute.key))).statusCode).toBe(401)
  })

  it('signs a user out everywhere when an admin changes their role', async () => {
    const admin = await server.admin()
    const user = await server.user('operator')
    const second = await server.login(user.username, user.password)
    const response = await server.app.inject({ method: 'PATCH', url: `/api/users/${user.id}`, headers: bearer(admin.key), payload: { role: 'viewer' } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ id: user.id, username: user.username, role: 'viewer' })
    expect((await me(bearer(user.key))).statusCode).toBe(401)
    expect((await me(bearer(second))).statusCode).toBe(401)
  })

  it('signs a user out everywhere when an admin resets their password, and only the new one signs in', async () => {
    const admin = await server.admin()
    const user = await server.user('operator')
    const second = await server.login(user.username, user.password)
    const newPassword = `${user.password}-new`
    const response = await server.app.inject({ method: 'PATCH', url: `/api/users/${user.id}`, headers: bearer(admin.key), payload: { password: newPassword } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ id: user.id, username: user.username, role: 'operator' })
    expect(response.body).not.toContain(newPassword)
    expect((await me(bearer(user.key))).statusCode).toBe(401)
    expect((await me(bearer(second))).statusCode).toBe(401)
    expect((await login(user.username, user.password, '10.0.3.1')).status).toBe(401)
    const fresh = await login(user.username, newPassword, '10.0.3.1')
    expect(fresh.status).toBe(200)
    expect(fresh.body.user).toEqual({ id: user.id, username: user.username, role: 'operator' })
    expect((await me(bearer(fresh.body.session_key))).json().username).toBe(user.username)
  })

  it('refuses to remove the last admin', async () => {
    const admin = await server.admin()
    const response = await server.app.inject({ method: 'DELETE', url: `/api/users/${admin.id}`, headers: bearer(admin.key) })
    expect(response.statusCode).toBe(409)
    expect(response.json().detail).toMatch(/last admin/)
  })
})

describe.each(BACKENDS)('sign-in rate limit on %s', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer(backend, { LOGIN_RATE_LIMIT_PER_MINUTE: '5' })
  })
  afterAll(() => server?.close())

  const login = (username: string, password: string, ip: string) => attemptSignIn(server.app, username, password, { remoteAddress: ip })

  it('rate limits sign-in attempts per client address', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await login('admin', 'wrong-password', '10.9.9.9')).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    const limited = await login('admin', 'wrong-password', '10.9.9.9')
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(limited.body.detail).toMatch(/too many attempts/)
    // another address is not affected
    expect((await login('admin', 'wrong-password', '10.9.9.10')).status).toBe(401)
  })
})
