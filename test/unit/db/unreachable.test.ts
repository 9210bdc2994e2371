import { describe, expect, it } from 'vitest'
import { isDatabaseUnreachable } from '../../../db/unreachable.ts'

// What the server takes for a database outage (503, retry) rather than a bug
// (500) or the client's mistake (4xx): the codes and messages pg, pg-pool and
// PostgreSQL use when there is no database to talk to. The outage test makes
// the network ones happen; these are the ones it cannot.

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code })

describe('isDatabaseUnreachable', () => {
  it('takes PostgreSQL shutting down, restarting, full or gone for an outage', () => {
    for (const code of ['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '08007', '53300', '3D000']) {
      expect(isDatabaseUnreachable(withCode(code)), code).toBe(true)
    }
  })

  it('takes a refused, reset or unresolvable connection for an outage, also inside an AggregateError or as a cause', () => {
    expect(isDatabaseUnreachable(withCode('ECONNREFUSED'))).toBe(true)
    expect(isDatabaseUnreachable(withCode('ECONNRESET'))).toBe(true)
    expect(isDatabaseUnreachable(withCode('ENOTFOUND'))).toBe(true)
    expect(isDatabaseUnreachable(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]))).toBe(true)
    expect(isDatabaseUnreachable(new Error('query failed', { cause: withCode('ETIMEDOUT') }))).toBe(true)
  })

  it("takes pg's and pg-pool's messages for a dead or missing connection for an outage", () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'Client has encountered a connection error and is not queryable',
    ]) {
      expect(isDatabaseUnreachable(new Error(message)), message).toBe(true)
    }
  })

  it('does not take a bad statement or bad input for one: a retry would not mend them', () => {
    // 08P01 is in the connection class, but it is PostgreSQL refusing a statement (e.g. over 65 535 parameters)
    for (const code of ['08P01', '23505', '23514', '22P02', '22003', '42P01', 'XX000', '40001']) {
      expect(isDatabaseUnreachable(withCode(code)), code).toBe(false)
    }
    expect(isDatabaseUnreachable(new RangeError('Maximum call stack size exceeded'))).toBe(false)
    expect(isDatabaseUnreachable(undefined)).toBe(false)
    expect(isDatabaseUnreachable('Connection terminated')).toBe(false)
  })
})
