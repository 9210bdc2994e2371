import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Housekeeping } from '../../../../server/jobs/housekeeping.ts'
import { BACKENDS, bearer, startTestServer, type TestServer } from '../../../helpers/test-server.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// What months of running leave behind: sessions long ended, acknowledge
// links long expired, deliveries sent or failed long ago and their payloads.
// Rows are made old by moving their clocks back; the pass removes those and
// keeps everything still in use or still recent.
//
// The server runs no jobs here (JOBS_IN_PROCESS false): a working process
// starts its own pass at start-up, and that pass, racing the rows the test
// writes, would remove some of them before the pass under test counts them
// (seen in CI: 1 removed where 3 were due). The test's pass is the only one.

const RETENTION_DAYS = 30

describe.each(BACKENDS)('housekeeping on %s', (backend) => {
  let server: TestServer
  let housekeeping: Housekeeping
  beforeAll(async () => {
    server = await startTestServer(backend, { JOBS_IN_PROCESS: 'false' })
    housekeeping = new Housekeeping(server.app.db, { retentionDays: RETENTION_DAYS, onError: (e) => { throw e } })
  })
  afterAll(() => server?.close())

  const db = () => server.app.db
  /** A notification's payload and its deliveries, written in one transaction as the outbox trigger writes them; their ids. */
  async function notification(deliveries: { key: string; state: 'pending' | 'sent' | 'failed'; daysAgo: number }[]) {
    return db().transaction().execute(async (trx) => {
      const { id: payloadId } = await trx.insertInto('delivery_payloads').values({ payload: '{"type":"alert"}' }).returning('id').executeTakeFirstOrThrow()
      const ids: number[] = []
      for (const { key, state, daysAgo } of deliveries) {
        const { id } = await trx.insertInto('deliveries')
          .values({ key, kind: 'alert', channel: 'webhook', address: 'https://hooks.example.test/x', payload_id: payloadId, state })
          .returning('id').executeTakeFirstOrThrow()
        await sql`UPDATE deliveries SET created = now() - make_interval(days => ${daysAgo}) WHERE id = ${id}`.execute(trx)
        ids.push(id)
      }
      return { payloadId, ids }
    })
  }
  const exists = async (table: 'deliveries' | 'delivery_payloads', id: number | string | undefined) =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE id = ${id!}`.execute(db())).rows[0]!.n === 1

  it('removes deliveries sent or failed before the retention, and payloads nobody names; keeps the rest', async () => {
    const { payloadId: oldBody, ids: [oldSent, oldFailed] } = await notification([
      { key: 'hk/old-sent', state: 'sent', daysAgo: RETENTION_DAYS + 1 },
      { key: 'hk/old-failed', state: 'failed', daysAgo: RETENTION_DAYS + 2 },
    ])
    const { payloadId: sharedBody, ids: [oldPending, oldSentSharing] } = await notification([
      { key: 'hk/old-pending', state: 'pending', daysAgo: RETENTION_DAYS + 5 },
      { key: 'hk/old-sent-sharing', state: 'sent', daysAgo: RETENTION_DAYS + 5 },
    ])
    const { ids: [recentSent] } = await notification([{ key: 'hk/recent-sent', state: 'sent', daysAgo: RETENTION_DAYS - 1 }])

    const removed = await housekeeping.pass()

    expect(await exists('deliveries', oldSent)).toBe(false)
    expect(await exists('deliveries', oldFailed)).toBe(false)
    expect(await exists('delivery_payloads', oldBody)).toBe(false)
    // still to be sent: kept, and so is its payload, though the other delivery of it went
    expect(await exists('deliveries', oldPending)).toBe(true)
    expect(await exists('deliveries', oldSentSharing)).toBe(false)
    expect(await exists('delivery_payloads', sharedBody)).toBe(true)
    expect(await exists('deliveries', recentSent)).toBe(true)
    expect(removed.deliveries).toBe(3)
    expect(removed.deliveryPayloads).toBe(1)
  })

  it('removes sessions a day after they ended, and keeps live ones signed in', async () => {
    const ended = await server.user('viewer')
    const live = await server.user('viewer')
    await sql`UPDATE sessions SET created = now() - interval '9 days', absolute_expires = now() - interval '2 days',
      idle_expires = now() - interval '2 days', last_seen = now() - interval '2 days' WHERE user_id = ${ended.id}`.execute(db())
    const endedRecently = await server.user('viewer')
    await sql`UPDATE sessions SET idle_expires = now() - interval '1 hour', last_seen = now() - interval '9 hours' WHERE user_id = ${endedRecently.id}`.execute(db())

    await housekeeping.pass()

    const sessionsOf = async (userId: number) => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM sessions WHERE user_id = ${userId}`.execute(db())).rows[0]!.n
    expect(await sessionsOf(ended.id)).toBe(0)
    expect(await sessionsOf(endedRecently.id)).toBe(1)
    expect(await sessionsOf(live.id)).toBe(1)
    expect((await server.app.inject({ method: 'GET', url: '/api/me', headers: bearer(live.key) })).statusCode).toBe(200)
  })

  it('removes acknowledge links a day after they expired', async () => {
    const user = await server.user('operator')
    const [fresh, stale] = await server.app.acknowledgeLinks.create([{ alertId: 1, userId: user.id }, { alertId: 2, userId: user.id }], 24)
    expect(fresh && stale).toBeTruthy()
    await sql`UPDATE acknowledge_links SET expires = now() - interval '3 days' WHERE alert_id = 2 AND user_id = ${user.id}`.execute(db())

    await housekeeping.pass()

    const links = await sql<{ alert_id: number }>`SELECT alert_id FROM acknowledge_links WHERE user_id = ${user.id}`.execute(db())
    expect(links.rows.map((r) => r.alert_id)).toEqual([1])
  })
})

// The pass above is the class's; this is the deployment's promise that a
// process which runs jobs also clears out, starting with its own start-up
// (server/jobs/job-runtime.ts). PostgreSQL only: a second app on the same
// database is how a worker joins a deployment.
describe('a process that runs jobs', () => {
  let quiet: TestServer | undefined
  let working: TestServer | undefined
  afterAll(async () => {
    await working?.close()
    await quiet?.close()
  })

  it('clears out a delivery sent before the retention when it starts, and keeps a recent one', async () => {
    quiet = await startTestServer('postgres', { JOBS_IN_PROCESS: 'false' })
    const db = quiet.app.db
    const { id: payloadId } = await db.insertInto('delivery_payloads').values({ payload: '{"type":"alert"}' }).returning('id').executeTakeFirstOrThrow()
    const delivery = (key: string) =>
      db.insertInto('deliveries')
        .values({ key, kind: 'alert', channel: 'webhook', address: 'https://hooks.example.test/x', payload_id: payloadId, state: 'sent' })
        .returning('id').executeTakeFirstOrThrow()
    const old = await delivery('hk-start/old-sent')
    const recent = await delivery('hk-start/recent-sent')
    await sql`UPDATE deliveries SET created = now() - make_interval(days => ${RETENTION_DAYS + 1}) WHERE id = ${old.id}`.execute(db)
    const count = async (id: number) => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM deliveries WHERE id = ${id}`.execute(db)).rows[0]!.n

    working = await startTestServer('postgres', { JOBS_IN_PROCESS: 'true', DELIVERY_RETENTION_DAYS: String(RETENTION_DAYS) }, quiet)

    await waitUntil(async () => (await count(old.id)) === 0, { what: () => 'the working process to remove the old sent delivery' })
    expect(await count(recent.id)).toBe(1)
  })
})
