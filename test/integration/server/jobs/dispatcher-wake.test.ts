import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Dispatcher, WAKE_AFTER_SAVE_MS } from '../../../../server/jobs/dispatcher.ts'
import { inProcessEngine } from '../../../../server/jobs/in-process-engine.ts'
import { migrateToLatest } from '../../../../db/migrate.ts'
import { BACKENDS, openTestDatabase, point, square, startTestServer, type TestServer } from '../../../helpers/test-server.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// A save that decided deliveries wakes the dispatcher, and a pass costs
// three transactions. Saves that come steadily,
// a few milliseconds apart (a busy room, an import), must share passes
// rather than keep the database busy with one pass after another.

describe('the dispatcher after a stream of saves', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>
  beforeAll(async () => {
    database = await openTestDatabase('postgres')
    await migrateToLatest(database.handle.db)
  })
  afterAll(() => database?.close())

  it('runs at most one pass per WAKE_AFTER_SAVE_MS while saves keep coming', async () => {
    let passes = 0
    const db = database.handle.db.withPlugin({
      transformQuery: ({ node }) => {
        // each pass looks for unfinished deliveries once
        if (node.kind === 'SelectQueryNode' && JSON.stringify(node.from).includes('"deliveries"')) passes++
        return node
      },
      transformResult: async ({ result }) => result,
    })
    const engine = inProcessEngine({ policy: { attempts: 1, backoffMs: 10, maxBackoffMs: 10 }, onStatus: () => {}, onError: () => {} })
    const errors: unknown[] = []
    const dispatcher = new Dispatcher(db, engine, { intervalMs: 3_600_000, onError: (e) => errors.push(e) })
    try {
      const saves = 150
      const started = Date.now()
      for (let i = 0; i < saves; i++) {
        dispatcher.wakeSoon()
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      const took = Date.now() - started
      await new Promise((resolve) => setTimeout(resolve, WAKE_AFTER_SAVE_MS * 3))
      await dispatcher.wake()
      expect(errors).toEqual([])
      // the last save was looked at: the final pass ran after it
      expect(passes).toBeGreaterThanOrEqual(2)
      expect(passes).toBeLessThanOrEqual(Math.ceil(took / WAKE_AFTER_SAVE_MS) + 2)
      expect(passes).toBeLessThan(saves / 4)
    } finally {
      await dispatcher.stop()
      await engine.close()
    }
  })
})

// The dispatcher has work after a save only when the save decided a delivery
// or an escalation (the outbox trigger marks its row): a steady stream of
// saves nobody is to hear of by mail or webhook must not wake it at all.

describe.each(BACKENDS)('saves and the dispatcher on %s', (backend) => {
  let server: TestServer
  let wakes = 0
  beforeAll(async () => {
    // its timer out of the way: only saves may wake it here
    server = await startTestServer(backend, { JOB_DISPATCH_MS: '60000' })
    const dispatcher = server.app.jobs.dispatcher
    const wake = dispatcher.wake.bind(dispatcher)
    dispatcher.wake = () => {
      wakes++
      return wake()
    }
    await server.app.areas.create({ name: 'Harbour', severity: 'info', geometry: square(10, 50, 1) }, null)
  })
  afterAll(() => server?.close())

  const settled = async () => {
    await server.published()
    await new Promise((resolve) => setTimeout(resolve, WAKE_AFTER_SAVE_MS * 3))
  }

  it('is not woken by saves that decided no delivery, alerts included', async () => {
    await settled()
    wakes = 0
    for (let i = 0; i < 5; i++) {
      const incident = await server.app.incidents.create({ name: `spill ${i}`, severity: 'high', geometry: point(10.2, 50.1) }, null)
      await server.app.incidents.update(incident.properties.id, { closed: true })
    }
    await settled()
    expect(wakes).toBe(0)
  })

  it('is woken after a save that decided one, and hands it over', async () => {
    await server.app.db.insertInto('webhooks').values({ url: 'http://127.0.0.1:9/hook', secret: 'webhook-secret', min_severity: 'info' }).execute()
    wakes = 0
    const incident = await server.app.incidents.create({ name: 'spill for the webhook', severity: 'high', geometry: point(10.2, 50.1) }, null)
    await settled()
    expect(wakes).toBeGreaterThan(0)
    await waitUntil(async () => {
      const rows = await server.app.db.selectFrom('deliveries').select('job').where('alert_id', 'is not', null).execute()
      return rows.length > 0 && rows.every((row) => row.job !== null)
    }, { timeoutMs: 5000, what: () => `the deliveries of incident ${incident.properties.id} handed over` })
  })
})
