import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attemptSignIn, type SignInAnswer } from '../../../helpers/sign-in.ts'
import { BACKENDS, startTestServer, type TestServer } from '../../../helpers/test-server.ts'

// Sign-in is limited twice: by the username tried (from any address), which
// stops guessing one account, and, more generously, by the client's address,
// so that one person's typos don't lock out a whole room behind one NAT.

const PER_USERNAME = 10
const PER_ADDRESS = 30

describe.each(BACKENDS)('sign-in limits on %s', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer(backend, {
      LOGIN_RATE_LIMIT_PER_MINUTE: String(PER_ADDRESS),
      LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE: String(PER_USERNAME),
    })
  })
  afterAll(() => server?.close())

  /** A user created without signing in (the helper's sign-in would count against 127.0.0.1). */
  async function account(): Promise<{ username: string; password: string }> {
    const username = `user-${randomBytes(3).toString('hex')}`
    const password = `pw-${randomBytes(6).toString('hex')}`
    await server.app.users.create(username, password, 'operator')
    return { username, password }
  }

  const login = (username: string, password: string, remoteAddress: string) => attemptSignIn(server.app, username, password, { remoteAddress })

  async function statuses(count: number, attempt: (i: number) => Promise<SignInAnswer>): Promise<number[]> {
    const result: number[] = []
    for (let i = 0; i < count; i++) result.push((await attempt(i)).status)
    return result
  }

  function expectRetryLater(response: SignInAnswer, reason: RegExp) {
    expect(response.status).toBe(429)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    const seconds = Number(response.headers['retry-after'])
    expect(seconds).toBeGreaterThanOrEqual(1)
    expect(seconds).toBeLessThanOrEqual(60)
    expect(response.body.detail).toMatch(reason)
    expect(response.body.detail).toContain(`try again in ${seconds} s`)
  }

  it('locks a username after its wrong passwords, saying when to retry, while a neighbour at the same address signs in', async () => {
    const a = await account()
    const b = await account()
    const wrong = await statuses(PER_USERNAME, () => login(a.username, 'wrong-password', '10.1.0.1'))
    expect(wrong).toEqual(Array(PER_USERNAME).fill(401))
    expectRetryLater(await login(a.username, 'wrong-password', '10.1.0.1'), /too many failed attempts for this username/)
    // locked is locked: from elsewhere, and even with the right password, so guesses learn nothing
    expectRetryLater(await login(a.username, a.password, '10.1.0.2'), /too many failed attempts for this username/)
    expect((await login(b.username, b.password, '10.1.0.1')).status).toBe(200)
  })

  it('counts the spellings of a username as one', async () => {
    const c = await account()
    const upper = c.username.toUpperCase()
    const spellings = [c.username, upper, ` ${c.username}`, `${c.username} `, `\t${upper}\t`, c.username.replace('u', 'Ｕ')]
    const wrong = await statuses(PER_USERNAME, (i) => login(spellings[i % spellings.length]!, 'wrong-password', `10.2.0.${i}`))
    expect(wrong).toEqual(Array(PER_USERNAME).fill(401))
    for (const spelling of spellings) expectRetryLater(await login(spelling, 'wrong-password', '10.2.1.1'), /for this username/)
  })

  it('does not let parallel guesses slip past the username limit', async () => {
    const d = await account()
    const responses = await Promise.all(Array.from({ length: 2 * PER_USERNAME }, (_, i) => login(d.username, 'wrong-password', `10.3.0.${i}`)))
    const counts = responses.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {})
    expect(counts).toEqual({ 401: PER_USERNAME, 429: PER_USERNAME })
  })

  it('does not count the owner signing in against the username', async () => {
    const e = await account()
    const fine = await statuses(PER_USERNAME + 2, (i) => login(e.username, e.password, `10.4.0.${i}`))
    expect(fine).toEqual(Array(PER_USERNAME + 2).fill(200))
    expect(await statuses(1, () => login(e.username, 'wrong-password', '10.4.1.1'))).toEqual([401])
  })

  it('limits many usernames tried from one address by that address, and no other', async () => {
    const tried = await statuses(PER_ADDRESS, () => login(`nobody-${randomBytes(4).toString('hex')}`, 'wrong-password', '10.5.0.1'))
    expect(tried).toEqual(Array(PER_ADDRESS).fill(401))
    expectRetryLater(await login('nobody-else', 'wrong-password', '10.5.0.1'), /too many attempts from this address/)
    expect((await login('nobody-else', 'wrong-password', '10.5.0.2')).status).toBe(401)
  })
})
