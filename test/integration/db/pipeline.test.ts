import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { BEGIN, COMMIT, sendPipelined, StatementNames } from '../../../db/pipeline.ts'
import { createDatabase } from '../../helpers/postgres.ts'

// A pipelined transaction is written to PostgreSQL's socket at once: pg
// alone writes a simple query (begin, commit) straight away and each
// prepared one in a write of its own, and every loopback write costs the
// server CPU (db/pipeline.ts). PostgreSQL only: PGlite has no socket.

describe('sendPipelined on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let client: pg.Client
  let writes = 0

  beforeAll(async () => {
    database = await createDatabase()
    client = new pg.Client({ connectionString: database.url, pipeline: true } as pg.ClientConfig)
    await client.connect()
    await client.query('CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL UNIQUE)')
    // every write that reaches the socket's handle, one syscall each (write or writev)
    const socket = (client as unknown as { connection: { stream: { _write: Function; _writev: Function } } }).connection.stream
    for (const method of ['_write', '_writev'] as const) {
      const original = socket[method]
      socket[method] = function (this: unknown, ...args: unknown[]) {
        writes++
        return original.apply(this, args)
      }
    }
  })
  afterAll(async () => {
    await client?.end()
    await database?.drop()
  })

  const insert = (name: string) => CompiledQuery.raw('INSERT INTO things (name) VALUES ($1) RETURNING id, name', [name])
  const names = new StatementNames()

  it('writes a whole transaction at once and yields every answer in order', async () => {
    writes = 0
    const results = await sendPipelined(client, [BEGIN, insert('a'), insert('b'), CompiledQuery.raw('SELECT count(*)::int AS n FROM things'), COMMIT], names)
    expect(writes).toBe(1)
    expect(results.map((r) => r.rows)).toEqual([[], [{ id: 1, name: 'a' }], [{ id: 2, name: 'b' }], [{ n: 2 }], []])
  })

  it('throws the first failure once every answer is in, and the transaction leaves nothing', async () => {
    writes = 0
    await expect(sendPipelined(client, [BEGIN, insert('c'), insert('a'), insert('d'), COMMIT], names)).rejects.toThrow(/duplicate key/)
    expect(writes).toBe(1)
    const { rows } = await client.query('SELECT name FROM things ORDER BY id')
    expect(rows).toEqual([{ name: 'a' }, { name: 'b' }])
  })
})
