import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLOSE_CODES } from '../../../../contracts/live.ts'
import { BACKENDS, bearer, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'
import { connect } from '../../../helpers/ws-client.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// An operations room keeps a dashboard open all shift. A session is used by
// its requests and by an open live socket that answers its pings; either
// moves the idle expiry on, and nothing moves the absolute one.
//
// Time is passed by moving a session's clocks back in the database (as if it
// had been signed in that much earlier), so the test need not wait a minute
// for the shortest idle limit the server accepts.

const IDLE_SECONDS = 60

describe.each(BACKENDS)('a session in use on %s', (backend) => {
  let server: TestServer
  let base: string
  beforeAll(async () => {
    server = await startTestServer(backend, { SESSION_IDLE_SECONDS: String(IDLE_SECONDS), SESSION_ABSOLUTE_SECONDS: '3600', SESSION_CHECK_MS: '100' })
    base = (await server.listen()).replace('http', 'ws')
  })
  afterAll(() => server?.close())

  const sessionOf = async (user: TestUser) =>
    (await server.app.db.selectFrom('sessions').select(['id', 'last_seen', 'idle_expires']).where('user_id', '=', user.id).executeTakeFirstOrThrow())
  /** as if `seconds` had passed since the session last moved: every clock of the user's sessions goes back that much */
  async function pass(user: TestUser, seconds: number) {
    await sql`UPDATE sessions SET created = created - make_interval(secs => ${seconds}), last_seen = last_seen - make_interval(secs => ${seconds}),
      idle_expires = idle_expires - make_interval(secs => ${seconds}), absolute_expires = absolute_expires - make_interval(secs => ${seconds})
      WHERE user_id = ${user.id}`.execute(server.app.db)
    // what the server remembers of a session lasts SESSION_CHECK_MS
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  const me = async (user: TestUser) => (await server.app.inject({ method: 'GET', url: '/api/me', headers: bearer(user.key) })).statusCode

  it('stays signed in while used more often than its idle limit, and expires once left alone for it', async () => {
    const user = await server.user('operator')
    // a request every 15 s for 90 s, with a 60 s idle limit
    for (let step = 1; step <= 6; step++) {
      await pass(user, 15)
      expect(await me(user), `request ${step}, ${step * 15} s after signing in`).toBe(200)
    }
    await pass(user, IDLE_SECONDS + 1)
    expect(await me(user)).toBe(401)
  })

  it('stays signed in while a live socket watches, with no request at all, and expires once the socket is gone', async () => {
    const user = await server.user('viewer')
    const socket = await connect(`${base}/ws`, bearer(user.key))
    await socket.waitFor((frame) => frame.type === 'ready')
    // four idle limits' worth of watching
    for (let step = 1; step <= 8; step++) {
      await pass(user, 30)
      const before = Date.now()
      // the server's check of its sockets' sessions moves the idle expiry on
      await waitUntil(async () => new Date((await sessionOf(user)).idle_expires).getTime() > before + (IDLE_SECONDS - 5) * 1000, { what: `the idle expiry moved on at step ${step}` })
    }
    expect(socket.socket.readyState).toBe(socket.socket.OPEN)
    expect(await me(user)).toBe(200)

    socket.close()
    await socket.closed
    await pass(user, IDLE_SECONDS + 1)
    expect(await me(user)).toBe(401)
  })

  it('ends a watched session at its absolute expiry all the same, closing its socket', async () => {
    const user = await server.user('viewer')
    const socket = await connect(`${base}/ws`, bearer(user.key))
    await socket.waitFor((frame) => frame.type === 'ready')
    await pass(user, 3600)
    expect((await socket.closed).code).toBe(CLOSE_CODES.SESSION_ENDED)
    expect(await me(user)).toBe(401)
  })

  it('tells the page when the session ends at the latest', async () => {
    const login = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: (await server.admin()).password } })
    const { session_key, expires } = login.json<{ session_key: string; expires: string }>()
    const state = await server.app.inject({ method: 'GET', url: '/api/auth/session', headers: bearer(session_key) })
    expect(state.json()).toEqual({ user: expect.objectContaining({ username: 'admin' }), expires })
    expect(new Date(expires).getTime() - Date.now()).toBeGreaterThan(3500 * 1000)
    expect((await server.app.inject({ method: 'GET', url: '/api/auth/session' })).json()).toEqual({ user: null, expires: null })
  })
})
