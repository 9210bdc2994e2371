import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, bearer, startTestServer, type TestServer, type TestUser } from '../../../helpers/test-server.ts'

// Two admins removing or demoting each other at the same moment: each
// request alone is allowed (the other admin remains), both together would
// leave no admin. Whatever the timing, one must win and the other be refused.

const ROUNDS = 30

type Move = 'delete' | 'demote'
const MOVES: [Move, Move][] = [['delete', 'delete'], ['demote', 'demote'], ['delete', 'demote']]

describe.each(BACKENDS)('the last admin on %s', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer(backend)
  })
  afterAll(() => server?.close())

  const act = (actor: TestUser, move: Move, target: TestUser) =>
    move === 'delete'
      ? server.app.inject({ method: 'DELETE', url: `/api/users/${target.id}`, headers: bearer(actor.key) })
      : server.app.inject({ method: 'PATCH', url: `/api/users/${target.id}`, headers: bearer(actor.key), payload: { role: 'viewer' } })

  const admins = async () =>
    (await server.app.db.selectFrom('users').select('id').where('role', '=', 'admin').execute()).map((row) => row.id)

  it(`survives two admins removing each other at once, ${ROUNDS} times over`, async () => {
    const outcomes: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // exactly two admins: everyone who was one before is a viewer now
      await server.app.db.updateTable('users').set({ role: 'viewer' }).where('role', '=', 'admin').execute()
      const a = await server.user('admin')
      const b = await server.user('admin')
      const [moveA, moveB] = MOVES[round % MOVES.length]!

      const [byA, byB] = await Promise.all([act(a, moveA, b), act(b, moveB, a)])

      const context = `round ${round}: ${moveA} → ${byA.statusCode} ${byA.body}, ${moveB} → ${byB.statusCode} ${byB.body}`
      expect((await admins()).length, context).toBe(1)
      const won = [byA, byB].filter((r) => r.statusCode === 200 || r.statusCode === 204)
      expect(won, context).toHaveLength(1)
      const lost = byA === won[0] ? byB : byA
      // refused by the rule (409), or, when the winner committed before the
      // loser was even signed in, refused as no longer signed in (401)
      expect([401, 409], context).toContain(lost.statusCode)
      if (lost.statusCode === 409) expect(lost.json().detail, context).toMatch(/is the last admin; make another user admin first/)
      outcomes.push(String(lost.statusCode))
    }
    // the rule itself must have been tried (in practice nearly every round is a true contest)
    expect(outcomes.filter((o) => o === '409').length, outcomes.join(' ')).toBeGreaterThan(0)
  })
})
