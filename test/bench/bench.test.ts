import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { writeResults } from './harness/report.ts'
import { scenarios } from './scenarios/index.ts'

// Benchmarks are not timed tests: this only proves each scenario runs, at its
// tiniest size, and reports every subject with a number for every metric.

describe('the benchmark harness', () => {
  it('has the five scenarios of the performance issue and the delivery scenario of the alert-delivery issue', () => {
    expect(scenarios.map((s) => s.name).sort()).toEqual(['delivery', 'fan-out', 'geofence', 'idle-sockets', 'map', 'start'].sort())
  })

  it.each(scenarios.map((s) => [s.name, s] as const))('runs %s once at a tiny size', async (_name, scenario) => {
    const lines: string[] = []
    const results = await scenario.run({ tiny: true, rounds: 1, log: (line) => lines.push(line) })
    expect(results.length).toBeGreaterThan(0)
    for (const result of results) {
      expect(result.rows.length, `${result.scenario}: ${result.case}`).toBeGreaterThan(1) // always side by side
      for (const row of result.rows) {
        for (const metric of Object.keys(result.units)) {
          const values = row.values[metric]
          if (values === undefined) continue // a metric that does not apply to this subject
          expect(values.length, `${row.subject} ${metric}`).toBe(1)
          expect(Number.isFinite(values[0]), `${row.subject} ${metric} = ${values[0]}`).toBe(true)
        }
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'bench-'))
    const written = writeResults(dir, results, 1, { commit: 'test', loadBefore: 0, loadAfter: 0, minutes: 1 })
    expect(existsSync(written.json)).toBe(true)
    expect(readFileSync(written.markdown, 'utf8')).toContain(`### ${results[0]!.scenario}`)
    // the one table: every target with its goal and whether it was met
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8')
    for (const target of results.flatMap((r) => r.targets)) expect(summary).toContain(`| ${target.label} |`)
  }, 300_000)
})
