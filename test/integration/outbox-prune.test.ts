import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../db/connect.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import { OutboxRelay } from '../../server/notifications/outbox-relay.ts'
import { memoryLayer } from '../../server/notifications/memory-layer.ts'
import { BACKENDS, openTestDatabase, type Backend } from '../helpers/test-server.ts'

// Published outbox rows are kept for a while and then deleted, so the table
// does not grow with every save ever made. Scaled down here: kept 400 ms,
// pruned every 100 ms (the server's defaults are an hour and a minute).

describe.each(BACKENDS)('pruning the published outbox on %s', (backend: Backend) => {
  let handle: DatabaseHandle
  let close = async () => {}

  beforeAll(async () => {
    ;({ handle, close } = await openTestDatabase(backend))
    await migrateToLatest(handle.db)
  }, 120_000)
  afterAll(() => close())

  const write = async (n: number) =>
    (await handle.db
      .insertInto('notifications')
      .values({ type: 'post_delete', payload: { type: 'post_delete', feature: { type: 'Feature', id: `incident:${n}`, geometry: { type: 'Point', coordinates: [0, 0] }, properties: {} } } as never })
      .returning('id')
      .executeTakeFirstOrThrow()).id
  const left = async () => (await handle.db.selectFrom('notifications').select(['id', 'published']).orderBy('id').execute())
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it('deletes rows published longer ago than it keeps them, and keeps the recent ones', async () => {
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, memoryLayer(100), { sweepIntervalMs: 60_000, keepPublishedMs: 400, pruneEveryMs: 100, onError: (e) => errors.push(e) })
    try {
      const old = [await write(1), await write(2)]
      await relay.wake()
      expect((await left()).map((r) => [r.id, r.published !== null])).toEqual(old.map((id) => [id, true]))

      await sleep(500)
      const recent = await write(3)
      await relay.wake() // publishes the new row, then prunes what was published 500 ms ago
      const rows = await left()
      expect(rows.map((r) => r.id)).toEqual([recent])
      expect(rows[0]!.published).not.toBeNull()
      expect(relay.stats.published).toBe(3)
      expect(errors).toEqual([])
    } finally {
      await relay.stop()
    }
  })
})
