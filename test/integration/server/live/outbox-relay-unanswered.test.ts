import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from 'redis'
import { openDatabase, type DatabaseHandle } from '../../../../db/connect.ts'
import { migrateToLatest } from '../../../../db/migrate.ts'
import { OutboxRelay } from '../../../../server/live/outbox-relay.ts'
import { redisStream, STREAM } from '../../../../server/live/redis-stream.ts'
import type { NotificationStream } from '../../../../server/live/stream.ts'
import { createDatabase } from '../../../helpers/postgres.ts'
import { privateRedis, type PrivateRedis } from '../../../helpers/redis-server.ts'

// A Redis that keeps its connections open but answers nothing (stopped with
// SIGSTOP: a frozen host, a full disk on an appendfsync Redis). Publishing
// has no timer per entry; the relay bounds each batch with one. A batch
// left unanswered fails, its transaction rolls back and the rows stay in the
// outbox, and they are published once Redis answers again. A private
// redis-server, since freezing the shared one would stall every other test.

describe('the outbox relay when Redis stops answering', () => {
  let redis: PrivateRedis
  let database: Awaited<ReturnType<typeof createDatabase>>
  let handle: DatabaseHandle
  let layer: NotificationStream

  beforeAll(async () => {
    redis = await privateRedis()
    await redis.start()
    database = await createDatabase()
    handle = await openDatabase({ databaseUrl: database.url, dataDir: '', poolSize: 2 })
    await migrateToLatest(handle.db)
    layer = await redisStream({ url: redis.url, maxLength: 1000, onError: () => {} })
  })

  afterAll(async () => {
    await layer?.close()
    await handle?.close()
    await database?.drop()
    await redis?.stop()
  })

  it('fails the batch after its timeout, keeps the rows in the outbox, and publishes them when Redis answers again', async () => {
    const errors: unknown[] = []
    const relay = new OutboxRelay(handle.db, layer, { sweepIntervalMs: 60_000, publishTimeoutMs: 300, onError: (error) => errors.push(error) })
    const [row] = await handle.db
      .insertInto('outbox')
      .values({ type: 'post_delete', payload: { type: 'post_delete', feature: { type: 'Feature', id: 1, geometry: { type: 'Point', coordinates: [0, 0] }, properties: {} } } as never })
      .returning('id')
      .execute()

    redis.freeze()
    try {
      await relay.wake()
      expect(errors).toHaveLength(1)
      expect((errors[0] as Error).message).toBe('the notification stream did not acknowledge a batch within 300 ms')
      // the batch's delete was rolled back: the row is still waiting in the outbox
      const waiting = await handle.db.selectFrom('outbox').select('id').where('id', '=', row!.id).executeTakeFirst()
      expect(waiting).toEqual({ id: row!.id })
    } finally {
      redis.thaw()
    }

    await relay.wake()
    // published: it left the outbox
    expect(await handle.db.selectFrom('outbox').select('id').where('id', '=', row!.id).executeTakeFirst()).toBeUndefined()
    // at least once: the entry written while Redis was frozen lands when it thaws, beside the one published again;
    // both carry the row's id as their event, and clients drop the second (see outbox-relay.ts)
    const reader = createClient({ url: redis.url })
    await reader.connect()
    try {
      const entries = (await reader.sendCommand(['XRANGE', STREAM, '-', '+'])) as [string, string[]][]
      expect(entries.length).toBeGreaterThanOrEqual(1)
      for (const [, fields] of entries) expect(fields[fields.indexOf('event') + 1]).toBe(String(row!.id))
    } finally {
      await reader.close()
    }
    await relay.stop()
  })
})
