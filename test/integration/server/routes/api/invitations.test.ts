import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerFrame } from '../../../../../contracts/live.ts'
import type { Invitation } from '../../../../../contracts/invitations.ts'
import { BACKENDS, bearer, point, startTestServer, type TestServer, type TestUser } from '../../../../helpers/test-server.ts'
import { startSmtpSink, type SmtpSink } from '../../../../helpers/smtp-sink.ts'
import { expectCleanProblem, expectNamesField } from '../../../../helpers/problem-checks.ts'
import { connect, type LiveClient } from '../../../../helpers/ws-client.ts'
import { waitUntil } from '../../../../helpers/wait.ts'

// Invitations by email, with the jobs run inside the server and a real SMTP
// server: an admin invites an address with a role, the mail carries a
// single-use link, and accepting it makes the account and signs it in.

const LINK = /http:\/\/tracker\.test\/invitation\/([A-Za-z0-9_-]+)/
const QUEUED_PER_USER = 3

describe.each(BACKENDS)('invitations on %s, jobs in process', (backend) => {
  let server: TestServer
  let smtp: SmtpSink
  let admin: TestUser
  let sequence = 0

  beforeAll(async () => {
    smtp = await startSmtpSink()
    server = await startTestServer(backend, {
      SMTP_URL: smtp.url, JOBS_IN_PROCESS: 'true', PUBLIC_URL: 'http://tracker.test', JOBS_QUEUED_PER_USER: String(QUEUED_PER_USER),
    })
    admin = await server.admin()
  })
  afterAll(async () => {
    await server?.close()
    await smtp?.close()
  })

  const address = () => `invitee-${backend}-${sequence++}@example.test`
  const invite = (email: string, role = 'operator', key = admin.key) =>
    server.app.inject({ method: 'POST', url: '/api/invitations', headers: bearer(key), payload: { email, role } })
  const accept = (key: string, username: string, password = 'chosen-password-1') =>
    server.app.inject({ method: 'POST', url: '/api/invitations/accept', payload: { key, username, password } })
  const listed = async (id: number): Promise<Invitation> => {
    const response = await server.app.inject({ method: 'GET', url: '/api/invitations', headers: bearer(admin.key) })
    expect(response.statusCode, response.body).toBe(200)
    return response.json<{ invitations: Invitation[] }>().invitations.find((i) => i.id === id)!
  }
  /** the key in the newest mail to this address, once `count` mails have come */
  const mailedKey = async (email: string, count = 1) => {
    await waitUntil(() => smtp.to(email).length >= count, { what: `mail ${count} to ${email}` })
    return LINK.exec(smtp.to(email).at(-1)!.text)![1]!
  }
  /** invited and mailed: the invitation and the key its mail carries */
  const invited = async (role = 'operator') => {
    const email = address()
    const response = await invite(email, role)
    expect(response.statusCode, response.body).toBe(201)
    return { email, invitation: response.json<Invitation>(), key: await mailedKey(email) }
  }
  const keyHashOf = async (id: number) =>
    (await server.app.db.selectFrom('invitations').select('key_hash').where('id', '=', id).executeTakeFirstOrThrow()).key_hash

  it('answers at once and mails the address a link that shows whom it invites', async () => {
    const email = address()
    const response = await invite(email, 'operator')
    expect(response.statusCode, response.body).toBe(201)
    const invitation = response.json<Invitation>()
    expect(invitation).toMatchObject({ email, role: 'operator', state: 'sending', invited_by: 'admin', sent: null, accepted: null })

    const key = await mailedKey(email)
    const [mail] = smtp.to(email)
    expect(mail!.subject).toBe('admin invites you to the incident tracker')
    expect(mail!.text).toContain('as an operator')
    await waitUntil(async () => (await listed(invitation.id)).state === 'sent', { what: 'the invitation listed as sent' })
    expect((await listed(invitation.id)).sent).not.toBeNull()

    const shown = await server.app.inject({ method: 'GET', url: `/invitation/${key}` })
    expect(shown.statusCode).toBe(200)
    expect(shown.body).toContain(email)
    expect(shown.body).toContain('<label>Username')
    expect(shown.body).toContain('<label>Password')
    // the key stays off other sites' Referer; a same-origin form still says where it comes from (no-referrer would send `Origin: null`, refused as cross-site)
    expect(shown.headers['referrer-policy']).toBe('same-origin')
  })

  it('keys the link with at least 128 random bits and keeps only their hash', async () => {
    const { invitation, key } = await invited()
    expect(Buffer.from(key, 'base64url').length * 8).toBeGreaterThanOrEqual(128)
    const row = await server.app.db.selectFrom('invitations').selectAll().where('id', '=', invitation.id).executeTakeFirstOrThrow()
    expect(row.key_hash).toBe(createHash('sha256').update(key).digest('hex'))
    expect(JSON.stringify(row)).not.toContain(key)
  })

  it('makes the account with the invited role and address, signs it in, and lists the invitation as accepted', async () => {
    const { email, invitation, key } = await invited('operator')
    const username = `joined-${backend}`
    const accepted = await accept(key, username)
    expect(accepted.statusCode, accepted.body).toBe(201)
    expect(accepted.json().user).toMatchObject({ username, role: 'operator' })
    const cookie = accepted.cookies.find((c) => c.name === 'session')!
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' })

    const me = await server.app.inject({ method: 'GET', url: '/api/me', cookies: { session: cookie.value } })
    expect(me.statusCode, me.body).toBe(200)
    expect(me.json()).toMatchObject({ username, role: 'operator', email })
    expect(await listed(invitation.id)).toMatchObject({ state: 'accepted', accepted_username: username })

    // the link works once
    const again = expectCleanProblem(await accept(key, `${username}-2`), 410)
    expect(again.detail).toContain('already used')
    const page = await server.app.inject({ method: 'GET', url: `/invitation/${key}` })
    expect(page.statusCode).toBe(410)
    expect(page.body).toContain('This invitation was already used')
    expect(await server.app.users.findByUsername(`${username}-2`)).toBeUndefined()
  })

  it('signs the browser in from the link’s page and sends it to the dashboard, showing a refused choice in the form', async () => {
    const { email, key } = await invited('viewer')
    const post = (body: string) =>
      server.app.inject({ method: 'POST', url: `/invitation/${key}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body })

    const short = await post('username=page-user&password=short')
    expect(short.statusCode).toBe(400)
    expect(short.headers['content-type']).toMatch(/^text\/html/)
    expect(short.body).toContain('role="alert"')
    expect(short.body).toMatch(/Password must NOT have fewer than 8 characters/)
    expect(short.body).toContain('value="page-user"')

    const taken = await post(`username=admin&password=${encodeURIComponent('long-enough-1')}`)
    expect(taken.statusCode).toBe(409)
    expect(taken.body).toContain('username &#34;admin&#34; is already taken')

    const done = await post(`username=page-user-${backend}&password=${encodeURIComponent('long-enough-1')}`)
    expect(done.statusCode, done.body).toBe(303)
    expect(done.headers.location).toBe('/')
    const session = await server.app.inject({ method: 'GET', url: '/api/auth/session', cookies: { session: done.cookies.find((c) => c.name === 'session')!.value } })
    expect(session.json().user).toMatchObject({ username: `page-user-${backend}`, role: 'viewer' })
    expect((await server.app.users.findByUsername(`page-user-${backend}`))!.email).toBe(email)
  })

  it('refuses a revoked invitation’s link, on the page and in the API', async () => {
    const { invitation, key } = await invited()
    const revoked = await server.app.inject({ method: 'DELETE', url: `/api/invitations/${invitation.id}`, headers: bearer(admin.key) })
    expect(revoked.statusCode, revoked.body).toBe(200)
    expect(revoked.json()).toMatchObject({ id: invitation.id, state: 'revoked' })

    expect(expectCleanProblem(await accept(key, 'never-made-1'), 410).detail).toContain('revoked')
    const page = await server.app.inject({ method: 'GET', url: `/invitation/${key}` })
    expect(page.statusCode).toBe(410)
    expect(page.body).toContain('This invitation was revoked')
    expect(await server.app.users.findByUsername('never-made-1')).toBeUndefined()
  })

  it('refuses an expired invitation’s link and lists it as expired', async () => {
    const { invitation, key } = await invited()
    await waitUntil(async () => (await listed(invitation.id)).state === 'sent', { what: 'the invitation listed as sent' })
    await sql`UPDATE invitations SET expires = now() - interval '1 minute' WHERE id = ${invitation.id}`.execute(server.app.db)

    expect(expectCleanProblem(await accept(key, 'never-made-2'), 410).detail).toContain('expired')
    const page = await server.app.inject({ method: 'GET', url: `/invitation/${key}` })
    expect(page.statusCode).toBe(410)
    expect(page.body).toContain('This invitation has expired')
    expect((await listed(invitation.id)).state).toBe('expired')
  })

  it('sends again with a new key on resend: the older link stops working, the new one works', async () => {
    const { email, invitation, key: first } = await invited()
    await waitUntil(async () => (await listed(invitation.id)).state === 'sent', { what: 'the first mail recorded as sent' })
    const resent = await server.app.inject({ method: 'POST', url: `/api/invitations/${invitation.id}/resend`, headers: bearer(admin.key) })
    expect(resent.statusCode, resent.body).toBe(202)
    const second = await mailedKey(email, 2)
    expect(second).not.toBe(first)
    await waitUntil(async () => (await keyHashOf(invitation.id)) === createHash('sha256').update(second).digest('hex'), { what: 'the new key stored' })

    const stale = await server.app.inject({ method: 'GET', url: `/invitation/${first}` })
    expect(stale.statusCode).toBe(404)
    expect(stale.body).toContain('This invitation link is not valid')
    expect((await server.app.inject({ method: 'GET', url: `/invitation/${second}` })).statusCode).toBe(200)
  })

  it('lets only admins invite, list, resend and revoke', async () => {
    const operator = await server.user('operator')
    const viewer = await server.user('viewer')
    expectCleanProblem(await invite(address(), 'viewer', operator.key), 403)
    expectCleanProblem(await server.app.inject({ method: 'POST', url: '/api/invitations', payload: { email: address(), role: 'viewer' } }), 401)
    expectCleanProblem(await server.app.inject({ method: 'GET', url: '/api/invitations', headers: bearer(viewer.key) }), 403)
    expectCleanProblem(await server.app.inject({ method: 'GET', url: '/api/invitations' }), 401)
    const { invitation } = await invited()
    expectCleanProblem(await server.app.inject({ method: 'POST', url: `/api/invitations/${invitation.id}/resend`, headers: bearer(operator.key) }), 403)
    expectCleanProblem(await server.app.inject({ method: 'DELETE', url: `/api/invitations/${invitation.id}`, headers: bearer(operator.key) }), 403)
    expect((await listed(invitation.id)).state).not.toBe('revoked')
  })

  it('names the bad field: an address that is not one, an unknown role, a bad username, a taken username', async () => {
    expectNamesField(expectCleanProblem(await invite('not-an-address', 'viewer'), 400), '/email', 'body')
    expectNamesField(expectCleanProblem(await invite(address(), 'owner'), 400), '/role', 'body')
    const { key } = await invited()
    expectNamesField(expectCleanProblem(await accept(key, 'has space'), 400), '/username', 'body')
    expectNamesField(expectCleanProblem(await accept(key, 'ok-name', 'short'), 400), '/password', 'body')
    const taken = expectCleanProblem(await accept(key, 'admin'), 409)
    expectNamesField(taken, 'username', 'body')
    expect(taken.detail).toContain('"admin" is already taken')
    // the refusal spent nothing: the key still works
    expect((await accept(key, `after-refusal-${backend}`)).statusCode).toBe(201)
    expect(expectCleanProblem(await accept('A'.repeat(43), 'nobody-1'), 404).detail).toContain('no invitation has this key')
  })

  it('refuses an address that belongs to a user or already has an open invitation', async () => {
    const owner = await server.user('viewer')
    await server.app.users.update(owner.id, { email: `Owner-${backend}@Example.test` })
    const taken = expectCleanProblem(await invite(`owner-${backend}@example.test`), 409)
    expectNamesField(taken, 'email', 'body')
    expect(taken.detail).toContain(owner.username)

    const { email } = await invited()
    expectNamesField(expectCleanProblem(await invite(email.toUpperCase()), 409), 'email', 'body')
  })

  it(`holds at most ${QUEUED_PER_USER} invitations per admin whose mail has not gone out`, async () => {
    const unsent = async () => (await server.app.inject({ method: 'GET', url: '/api/invitations', headers: bearer(admin.key) })).json<{ invitations: Invitation[] }>().invitations.filter((i) => i.state === 'sending')
    await waitUntil(async () => (await unsent()).length === 0, { what: 'the earlier tests’ mail recorded as sent' })
    smtp.hold()
    const emails = Array.from({ length: QUEUED_PER_USER }, address)
    try {
      for (const email of emails) expect((await invite(email)).statusCode).toBe(201)
      const refused = expectCleanProblem(await invite(address()), 429)
      expect(refused.detail).toContain(`at most ${QUEUED_PER_USER}`)
    } finally {
      smtp.release()
    }
    await waitUntil(async () => (await unsent()).length === 0, { what: 'the held mail recorded as sent' })
    expect((await invite(address())).statusCode).toBe(201)
  })

  it('reports the mail job to the inviting admin’s sockets only', async () => {
    const base = (await server.listen()).replace('http', 'ws')
    const otherAdmin = await server.user('admin')
    const viewer = await server.user('viewer')
    const sockets: LiveClient[] = await Promise.all([admin, otherAdmin, viewer].map((user) => connect(`${base}/ws`, bearer(user.key))))
    const [mine, otherAdmins, viewers] = sockets as [LiveClient, LiveClient, LiveClient]
    try {
      await Promise.all(sockets.map((socket) => socket.waitFor((frame) => frame.type === 'ready')))
      const { invitation } = await invited()
      const isJob = (frame: ServerFrame) => frame.type === 'job' && frame.job.subject_id === invitation.id
      const [done] = await mine.waitFor((frame) => isJob(frame) && frame.type === 'job' && frame.job.status === 'done')
      expect(done).toEqual({ type: 'job', job: { id: `invitation-${invitation.id}-1`, kind: 'invitation', status: 'done', subject_id: invitation.id } })
      expect(mine.frames.filter(isJob).map((frame) => frame.type === 'job' && frame.job.status)).toEqual(['queued', 'running', 'done'])

      // a notification everyone gets, sent after the job's frames: once it is there, anything for them before it would be too
      await server.app.incidents.create({ name: `after invitation ${invitation.id}`, geometry: point(3, 3) }, admin.id)
      const seen = (frame: ServerFrame) => frame.type === 'post_save' && frame.feature.properties.name === `after invitation ${invitation.id}`
      await Promise.all([otherAdmins, viewers].map((socket) => socket.waitFor(seen)))
      expect(otherAdmins.frames.filter((frame) => frame.type === 'job')).toEqual([])
      expect(viewers.frames.filter((frame) => frame.type === 'job')).toEqual([])
    } finally {
      for (const socket of sockets) socket.close()
    }
  })
})
