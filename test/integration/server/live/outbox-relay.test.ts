import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { DatabaseHandle } from '../../../../db/connect.ts'
import { migrateTo, migrateToLatest } from '../../../../db/migrate.ts'
import { OutboxRelay } from '../../../../server/live/outbox-relay.ts'
import { memoryStream } from '../../../../server/live/memory-stream.ts'
import type { NotificationStream, Publication } from '../../../../server/live/stream.ts'
import type { NotificationBody } from '../../../../contracts/live.ts'
import { BACKENDS, openTestDatabase, type Backend } from '../../../helpers/test-server.ts'
import { within } from '../../../helpers/wait.ts'

// The outbox is a queue: the relay takes the oldest rows, publishes them and
// deletes them in one transaction, so a row leaves the table exactly when
// the notification layer has it, and a batch the layer refuses stays.

const body = (n: number): NotificationBody =>
  ({ type: 'post_delete', feature: { type: 'Feature', id: `incident:${n}`, geometry: { type: 'Point', coordinates: [0, 0] }, properties: {} } }) as never

/** the memory layer, refusing every batch while `down` is set, and remembering the events of what it took, and each batch's size */
function switchableLayer() {
  const inner = memoryStream(10_000)
  const events: number[] = []
  const batches: number[] = []
  const layer: NotificationStream & { down: boolean } = Object.assign(Object.create(inner) as NotificationStream, {
    down: false,
    async publish(batch: readonly Publication[]) {
      if (layer.down) throw new Error('the layer is down')
      await inner.publish(batch)
      events.push(...batch.map((p) => p.event))
      batches.push(batch.length)
    },
  })
  return { layer, events, batches }
}

/** whether it settles within `ms`: only for what must still be pending (the relay has no state to wait on for "paused") */
const settledWithin = async (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

describe.each(BACKENDS)('the outbox relay on %s', (backend: Backend) => {
  let handle: DatabaseHandle
  let close = async () => {}

  beforeAll(async () => {
    ;({ handle, close } = await openTestDatabase(backend))
    await migrateToLatest(handle.db)
  }, 120_000)
  afterAll(() => close())

  const write = async (count: number): Promise<number[]> =>
    (await handle.db
      .insertInto('outbox')
      .values(Array.from({ length: count }, (_, n) => ({ type: 'post_delete' as const, payload: JSON.stringify(body(n)) })))
      .returning('id')
      .execute()).map((r) => r.id)
  const left = async () => (await handle.db.selectFrom('outbox').select('id').orderBy('id').execute()).map((r) => r.id)

  it('keeps rows written before the queue migration that were not yet published, and drops the published ones', async () => {
    // back to the schema as 0001 left it (0002's down), where published rows were marked, not deleted
    await migrateTo(handle.db, '0001-init')
    const { rows } = await sql<{ id: number; published: Date | null }>`
      INSERT INTO notifications (type, payload, published)
      VALUES ('post_delete', ${JSON.stringify(body(1))}, now()), ('post_delete', ${JSON.stringify(body(2))}, NULL)
      RETURNING id, published`.execute(handle.db)
    await migrateToLatest(handle.db)
    expect(await left()).toEqual([rows[1]!.id])
    const columns = await sql<{ column_name: string }>`
      SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox' ORDER BY column_name`.execute(handle.db)
    expect(columns.rows.map((c) => c.column_name)).toEqual(['created', 'dispatch', 'id', 'payload', 'type'])
    await handle.db.deleteFrom('outbox').execute()
  }, 60_000)

  it('publishes every row oldest first, more than one batch of them, and empties the outbox', async () => {
    const { layer, events } = switchableLayer()
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, layer, { sweepIntervalMs: 60_000, onError: (e) => errors.push(e) })
    try {
      const ids = await write(1_200) // a batch is 500
      await relay.wake()
      expect(events).toEqual(ids)
      expect(await left()).toEqual([])
      expect(relay.stats.published).toBe(1_200)
      expect(errors).toEqual([])
    } finally {
      await relay.stop()
    }
  })

  it('vacuums the outbox itself every so many rows it deletes, so their space is reused where autovacuum is off or behind', async () => {
    const { layer } = switchableLayer()
    const errors: unknown[] = []
    const pages = async () =>
      Number((await sql<{ pages: number }>`SELECT (pg_relation_size('outbox') / current_setting('block_size')::int)::int AS pages`.execute(handle.db)).rows[0]!.pages)
    const round = async () => {
      await write(1_000)
      const written = await pages()
      const relay = new OutboxRelay(handle.db, layer, { sweepIntervalMs: 60_000, vacuumEveryRows: 500, onError: (e) => errors.push(e) })
      await relay.wake()
      await relay.stop() // and the vacuum it started
      return { vacuums: relay.stats.vacuums, written }
    }
    // from an empty table, so the first round's size is what 1 000 rows take (measured before the relay runs: a
    // vacuum that starts after the round's last delete truncates the table to nothing, which is no baseline)
    await sql`VACUUM outbox`.execute(handle.db)
    const first = await round()
    expect(first.vacuums).toBeGreaterThanOrEqual(1)
    for (let i = 0; i < 4; i++) await round()
    // Each round writes 1 000 rows and deletes them. Unvacuumed, every round would take new pages (5× as many after
    // five); vacuumed, the next round reuses them, and at most the last batch of a round waits for the next vacuum.
    expect(await pages()).toBeLessThanOrEqual(2 * first.written)
    expect(errors).toEqual([])
  })

  // The pause is a minute here, far longer than the test: what it holds back is plain to see, and stop() must end it.
  const pausing = { sweepIntervalMs: 60_000, busyBatchRows: 5, busyPauseMs: 60_000 }

  it('after a busy batch, while saves keep coming, waits before the next sweep and then takes what came meanwhile in one; stop ends the wait', async () => {
    const { layer, events, batches } = switchableLayer()
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, layer, { ...pausing, onError: (e) => errors.push(e) })
    let stopped = false
    try {
      const busy = await write(6)
      const first = relay.wake()
      void relay.wake() // another save's wake-up while the relay sweeps: saves keep coming
      await expect.poll(() => events.length).toBe(6)
      expect(events).toEqual(busy)
      // the relay now waits; what is saved meanwhile stays in the outbox
      const meanwhile = [...(await write(2)), ...(await write(1))]
      const flushed = relay.wake()
      expect(await settledWithin(first, 300)).toBe(false)
      expect(await settledWithin(flushed, 0)).toBe(false)
      expect(await left()).toEqual(meanwhile)

      await relay.stop()
      stopped = true
      await within(flushed, 'the stopped relay to flush the outbox')
      expect(events).toEqual([...busy, ...meanwhile])
      expect(batches).toEqual([6, 3])
      expect(await left()).toEqual([])
      expect(errors).toEqual([])
    } finally {
      if (!stopped) await relay.stop()
    }
  })

  it('a pause between busy batches ends by itself, and then takes what came meanwhile', async () => {
    const { layer, events, batches } = switchableLayer()
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, layer, { ...pausing, busyPauseMs: 100, onError: (e) => errors.push(e) })
    try {
      const busy = await write(6)
      void relay.wake()
      void relay.wake()
      await expect.poll(() => events.length).toBe(6)
      const meanwhile = await write(3)
      // resolves once the relay is idle again: after the pause, with no stop() to end it
      await relay.wake()
      expect(events).toEqual([...busy, ...meanwhile])
      expect(batches).toEqual([6, 3])
      expect(errors).toEqual([])
    } finally {
      await relay.stop()
    }
  })

  it('after a small batch, or a busy one with no save since, sweeps again at once: nothing waits', async () => {
    const { layer, events, batches } = switchableLayer()
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, layer, { ...pausing, onError: (e) => errors.push(e) })
    try {
      const small = await write(2)
      const swept = relay.wake()
      void relay.wake() // saves keep coming, but the batch was small
      // paused after this batch, it would take a minute
      await within(swept, 'the sweep, with no pause after a small batch')
      expect(events).toEqual(small)

      const busy = await write(6)
      await within(relay.wake(), 'the sweep, with no pause when no save woke it meanwhile')
      const next = await write(1)
      await within(relay.wake(), 'the next sweep')
      expect(events).toEqual([...small, ...busy, ...next])
      expect(batches).toEqual([2, 6, 1])
      expect(errors).toEqual([])
    } finally {
      await relay.stop()
    }
  })

  it('leaves a batch the layer refuses in the outbox, and publishes it in order once the layer takes it', async () => {
    const { layer, events } = switchableLayer()
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, layer, { sweepIntervalMs: 60_000, onError: (e) => errors.push(e) })
    try {
      const first = await write(3)
      layer.down = true
      await relay.wake()
      expect((errors as Error[]).map((e) => e.message)).toEqual(['the layer is down'])
      expect(await left()).toEqual(first)
      expect(relay.stats.published).toBe(0)

      const second = await write(2)
      layer.down = false
      await relay.wake()
      expect(events).toEqual([...first, ...second])
      expect(await left()).toEqual([])
    } finally {
      await relay.stop()
    }
  })
})
