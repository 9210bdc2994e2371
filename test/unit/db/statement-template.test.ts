import { describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { statementTemplate } from '../../../db/statement-template.ts'
import { incidentInsertTemplate } from '../../../server/repositories/incident-save.ts'
import { sqlCompiler } from '../../helpers/sql-compiler.ts'

// A template is compiled once and bound per call: what a call yields must be
// exactly what compiling the same builder with those values yields.

const db = sqlCompiler // compiles without a database

interface Values {
  name: string
  closed: boolean
  reporterId: number | null
}
const build = (v: Values) =>
  db.insertInto('incidents').values({ name: v.name, description: 'fixed', closed: v.closed, reporter_id: v.reporterId, location: sql`NULL` }).returning('id').compile()

describe('statementTemplate', () => {
  const template = statementTemplate<Values>(['name', 'closed', 'reporterId'], build)

  it('yields what compiling with the values yields, for values that equal one another or the constants', () => {
    for (const values of [
      { name: 'a', closed: true, reporterId: 7 },
      { name: 'fixed', closed: false, reporterId: null },
      { name: '', closed: false, reporterId: 0 },
    ]) {
      const bound = template(values)
      const fresh = build(values)
      expect(bound.sql).toBe(fresh.sql)
      expect(bound.parameters).toEqual(fresh.parameters)
    }
  })

  it('gives the same SQL string every call, and calls do not share parameters', () => {
    const first = template({ name: 'first', closed: true, reporterId: 1 })
    const second = template({ name: 'second', closed: false, reporterId: 2 })
    expect(second.sql).toBe(first.sql)
    expect(first.parameters).toContain('first')
    expect(first.parameters).not.toContain('second')
  })

  it('refuses, when made, a builder that transforms or repeats a value', () => {
    expect(() =>
      statementTemplate<{ name: string }>(['name'], (v) => db.insertInto('incidents').values({ name: JSON.stringify(v.name), description: '', location: sql`NULL` }).compile()),
    ).toThrow('the value "name" must reach the statement as exactly one parameter, unchanged')
    expect(() =>
      statementTemplate<{ name: string }>(['name'], (v) => db.insertInto('incidents').values({ name: v.name, description: v.name, location: sql`NULL` }).compile()),
    ).toThrow('"name"')
  })

  it('makes the incident insert template, which binds every column of a new incident', () => {
    const insert = incidentInsertTemplate(db)
    const bound = insert({ name: 'Pier fire', description: 'smoke', severity: 'high', closed: false, geometry: '{"type":"Point","coordinates":[1,2]}', reporterId: 3, updatedById: 3 })
    expect(bound.parameters).toEqual(expect.arrayContaining(['Pier fire', 'smoke', 'high', false, '{"type":"Point","coordinates":[1,2]}', 3]))
  })
})
