import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Dispatcher, WAKE_AFTER_SAVE_MS } from '../../../../server/jobs/dispatcher.ts'
import { inProcessEngine } from '../../../../server/jobs/in-process-engine.ts'
import { migrateToLatest } from '../../../../db/migrate.ts'
import { openTestDatabase } from '../../../helpers/test-server.ts'

// Every save wakes the dispatcher, and a pass costs three transactions
// whether or not the save decided any delivery. Saves that come steadily,
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
