import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { writeResults, type Scenario, type ScenarioResult } from './harness/report.ts'
import { scenarios } from './scenarios/index.ts'

// npm run bench [-- --only fan-out,geofence] [--rounds 3] [--tiny] [--out bench-results]
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    tiny: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
  },
})
const rounds = Number(values.rounds)
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  console.error(`--rounds must be an integer from 1 to 50 (got ${JSON.stringify(values.rounds)})`)
  process.exit(2)
}
const wanted = values.only?.split(',').map((s) => s.trim())
const unknown = wanted?.filter((w) => !scenarios.some((s) => s.name === w))
if (unknown?.length) {
  console.error(`unknown scenario ${unknown.join(', ')}: choose from ${scenarios.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
const chosen: Scenario[] = wanted ? scenarios.filter((s) => wanted.includes(s.name)) : scenarios

const commit = (() => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim()
    return dirty ? `${head} with uncommitted changes` : head
  } catch {
    return 'unknown (not a git checkout)'
  }
})()
// the knobs a run was narrowed with belong in its header, so the table says how it was made
const knobs = Object.entries(process.env)
  .filter(([name]) => /^(BENCH_|GEOFENCE_|MAP_BENCH_)/.test(name))
  .map(([name, value]) => `${name}=${value}`)
  .sort()
const startedAt = Date.now()
const loadBefore = loadavg()[0]!
const results: ScenarioResult[] = []
let failed = 0
const write = () =>
  writeResults(values.out!, results, values.tiny ? 1 : rounds, { commit, loadBefore, loadAfter: loadavg()[0]!, minutes: (Date.now() - startedAt) / 60_000, knobs })
for (const scenario of chosen) {
  console.log(`\n== ${scenario.title}`)
  try {
    results.push(...(await scenario.run({ tiny: values.tiny!, rounds: values.tiny ? 1 : rounds, log: (line) => console.log(`   ${line}`) })))
  } catch (error) {
    // one scenario falling over must not cost the others' figures: the table says it failed, and the run exits 1
    failed++
    console.error(error)
    const why = (error as Error).message.split('\n')[0]!
    results.push({
      scenario: scenario.name,
      case: 'failed',
      units: {},
      rows: [],
      ratios: [],
      targets: [{ label: `the scenario ran to its end (${why})`, value: Number.NaN, goal: 'ran', met: false }],
      notes: [why],
    })
  }
  // written after every scenario, so what was measured survives a later failure
  write()
}
const written = write()
console.log(`\nwrote ${written.markdown} and ${written.json}`)
process.exit(failed ? 1 : 0)
