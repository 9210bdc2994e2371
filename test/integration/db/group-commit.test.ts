import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CompiledQuery } from 'kysely'
import type { DatabaseHandle } from '../../../db/connect.ts'
import { GroupCommit } from '../../../db/group-commit.ts'
import { BACKENDS, openTestDatabase, type Backend } from '../../helpers/test-server.ts'

// Group commit on both backends: statements that arrive while the slots are
// taken share the next transaction (each statement reports the transaction
// it ran in), and a statement the database refuses fails only its own caller.

const insert = (name: string) =>
  CompiledQuery.raw('INSERT INTO things (name) VALUES ($1) RETURNING name, txid_current()::text AS tx', [name])

type Saved = { name: string; tx: string }
const saved = (rows: { rows: unknown[] }) => rows.rows[0] as Saved

describe.each(BACKENDS)('group commit on %s', (backend: Backend) => {
  let handle: DatabaseHandle
  let close = async () => {}

  beforeAll(async () => {
    ;({ handle, close } = await openTestDatabase(backend, 4))
    await handle.db.executeQuery(CompiledQuery.raw('CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL UNIQUE)'))
  }, 120_000)
  afterAll(() => close())

  const names = async () => (await handle.db.executeQuery<{ name: string }>(CompiledQuery.raw('SELECT name FROM things ORDER BY id'))).rows.map((r) => r.name)

  it('sends the first statement alone and those that arrive meanwhile together, in order', async () => {
    const group = new GroupCommit(handle.db, { prefix: [], inFlight: 1, maxGroup: 32 })
    const results = (await Promise.all(['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => group.submit(insert(name))))).map(saved)
    expect(results.map((r) => r.name)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'])
    const [first, ...rest] = results.map((r) => r.tx)
    expect(new Set(rest).size).toBe(1)
    expect(rest[0]).not.toBe(first)
  })

  it('puts at most maxGroup statements in one transaction', async () => {
    const group = new GroupCommit(handle.db, { prefix: [], inFlight: 1, maxGroup: 2 })
    const txs = (await Promise.all(['b1', 'b2', 'b3', 'b4', 'b5'].map((name) => group.submit(insert(name))))).map((r) => saved(r).tx)
    expect(new Set(txs).size).toBe(3)
    expect(txs[1]).toBe(txs[2])
    expect(txs[3]).toBe(txs[4])
  })

  it('fails only the statement the database refused, and commits the others', async () => {
    const group = new GroupCommit(handle.db, { prefix: [], inFlight: 1, maxGroup: 32 })
    // c1 goes alone; c2, the duplicate of a1 and c3 wait and are sent together
    const outcomes = await Promise.allSettled(['c1', 'c2', 'a1', 'c3'].map((name) => group.submit(insert(name))))
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/duplicate key/)
    expect((await names()).filter((n) => n.startsWith('c'))).toEqual(['c1', 'c2', 'c3'])
    expect((await names()).filter((n) => n === 'a1')).toHaveLength(1)
  })

  it('runs the prefix once per transaction, before the statements', async () => {
    await handle.db.executeQuery(CompiledQuery.raw('CREATE TABLE prefix_runs (tx text NOT NULL)'))
    const prefix = CompiledQuery.raw('INSERT INTO prefix_runs (tx) VALUES (txid_current()::text)')
    const group = new GroupCommit(handle.db, { prefix: [prefix], inFlight: 1, maxGroup: 32 })
    const txs = (await Promise.all(['d1', 'd2', 'd3'].map((name) => group.submit(insert(name))))).map((r) => saved(r).tx)
    const runs = (await handle.db.executeQuery<{ tx: string }>(CompiledQuery.raw('SELECT tx FROM prefix_runs'))).rows.map((r) => r.tx)
    expect(runs.sort()).toEqual([...new Set(txs)].sort())
  })
})

describe('group commit when the outcome is unknown (PostgreSQL)', () => {
  it('fails every statement of the group and sends none of them again', async () => {
    const { handle, close } = await openTestDatabase('postgres')
    try {
      await handle.db.executeQuery(CompiledQuery.raw('CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL UNIQUE)'))
      const group = new GroupCommit(handle.db, { prefix: [], inFlight: 1, maxGroup: 32 })
      // the backend is terminated mid-transaction (57P01): whether a commit happened is not the client's to know
      const terminate = CompiledQuery.raw('SELECT pg_terminate_backend(pg_backend_pid())')
      const first = group.submit(insert('e1'))
      const rest = [group.submit(insert('e2')), group.submit(terminate), group.submit(insert('e3'))]
      await first
      const outcomes = await Promise.allSettled(rest)
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected'])
      const { rows } = await handle.db.executeQuery<{ name: string }>(CompiledQuery.raw('SELECT name FROM things ORDER BY id'))
      expect(rows.map((r) => r.name)).toEqual(['e1'])
    } finally {
      await close()
    }
  })
})
