import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { escalateHandler } from '../../../../server/jobs/escalate.ts'
import { BACKENDS, bearer, square, startTestServer, type TestServer } from '../../../helpers/test-server.ts'

// An escalation whose contacts can no longer be reached (the person's email
// was removed, the webhook deleted after the area named them) is decided all
// the same, to nobody, and leaves no alert body behind that no delivery names.

describe.each(BACKENDS)('an escalation nobody can receive, on %s', (backend) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer(backend)
  })
  afterAll(() => server?.close())

  it('is marked escalated, decides no delivery and keeps no payload', async () => {
    const admin = await server.admin()
    const post = async (url: string, payload: object) => {
      const answer = await server.app.inject({ method: 'POST', url, headers: bearer(admin.key), payload })
      expect(answer.statusCode, answer.body).toBe(201)
      return answer.json()
    }
    const contact = await post('/api/users', { username: 'lead-gone', password: 'pw-lead-gone-secret', role: 'viewer', email: 'gone@example.test' })
    await post('/api/areas', {
      type: 'Feature',
      geometry: square(120, 10, 1),
      properties: { name: 'Quay', severity: 'low', escalate_after_minutes: 60, escalation_contacts: { users: [contact.id], webhooks: [] } },
    })
    await post('/api/incidents', { name: 'Crane fault', severity: 'high', location: { lon: 120, lat: 10 } })
    const db = server.app.db
    const escalation = await db.selectFrom('escalations').select(['alert_id', 'state']).executeTakeFirstOrThrow()
    expect(escalation.state).toBe('waiting')
    await sql`UPDATE users SET email = NULL WHERE id = ${contact.id}`.execute(db)
    await sql`UPDATE escalations SET due = now() WHERE alert_id = ${escalation.alert_id}`.execute(db)
    const payloadsBefore = await db.selectFrom('delivery_payloads').select('id').execute()

    let woken = 0
    const errors: string[] = []
    await escalateHandler({ db, wakeDispatcher: () => woken++, onError: (message) => errors.push(message) }).run({ alertId: escalation.alert_id }, { attempt: 1, lastAttempt: true })

    const after = await db.selectFrom('escalations').select('state').where('alert_id', '=', escalation.alert_id).executeTakeFirstOrThrow()
    expect(after.state).toBe('escalated')
    expect(await db.selectFrom('deliveries').select('id').where('kind', '=', 'escalation').execute()).toEqual([])
    expect(await db.selectFrom('delivery_payloads').select('id').execute()).toEqual(payloadsBefore)
    expect(errors).toEqual([])
  })
})
