import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { spread, type Spread } from './stats.ts'

/** One subject (our server, bare ws, Socket.IO, …) measured over several rounds. */
export interface Row {
  subject: string
  /** metric name -> one value per round */
  values: Record<string, number[]>
}

/** ours / a baseline; paired rounds give a confidence interval of the ratio */
export interface Ratio {
  label: string
  value: number
  /** one ratio per paired round, when the subjects were measured in alternating pairs */
  rounds?: number[]
  /** 95 % confidence interval of the ratio (e.g. a t-interval of the paired log-ratios, back-transformed) */
  ci?: { low: number; high: number }
}

export interface Target {
  label: string
  /** what was measured, in the target's terms (the median over rounds, or the ratio's median) */
  value: number
  /** the target's measure in each round, for the spread shown beside it */
  rounds?: number[]
  /** the unit of `value` when it is not a ratio (e.g. "ms") */
  unit?: string
  goal: string
  met: boolean
  /** why this run cannot judge the target either way (e.g. the load generator, not the subject, set the pace); `met` is then false */
  inconclusive?: string
}

export interface ScenarioResult {
  scenario: string
  /** e.g. "10 000 sockets, as fast as possible" */
  case: string
  units: Record<string, string>
  rows: Row[]
  ratios: Ratio[]
  targets: Target[]
  notes: string[]
}

export interface BenchOptions {
  /** the smallest size, one round: proves the harness works (npm test) */
  tiny: boolean
  rounds: number
  log: (line: string) => void
}

export interface Scenario {
  name: string
  title: string
  run(options: BenchOptions): Promise<ScenarioResult[]>
}

export const median = (values: number[]) => spread(values).median

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`
}

const fmt = (n: number) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2)) : '—')
const cell = (s: Spread) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`

/** The results as Markdown: one table per case, medians with (min–max), then ratios and targets. */
export function toMarkdown(results: ScenarioResult[], rounds: number): string {
  const lines = [`Measured on ${machine()}, ${new Date().toISOString().slice(0, 10)}; median (min–max) over ${rounds} round(s).`, '']
  for (const r of results) {
    const metrics = Object.keys(r.units)
    lines.push(`### ${r.scenario}: ${r.case}`, '')
    lines.push(`| subject | ${metrics.map((m) => `${m} (${r.units[m]})`).join(' | ')} |`)
    lines.push(`|---|${metrics.map(() => '---:').join('|')}|`)
    for (const row of r.rows) lines.push(`| ${row.subject} | ${metrics.map((m) => (row.values[m]?.length ? cell(spread(row.values[m]!)) : '—')).join(' | ')} |`)
    if (r.ratios.length) lines.push('', ...r.ratios.map((x) => `- ${x.label}: **${fmt(x.value)}×**${x.ci ? ` (95 % CI ${fmt(x.ci.low)}–${fmt(x.ci.high)}, ${x.rounds?.length ?? '?'} paired rounds)` : ''}`))
    if (r.targets.length) lines.push('', ...r.targets.map((t) => `- target ${t.label} ${t.goal}: ${targetValue(t)} → ${t.inconclusive ? `**inconclusive** (${t.inconclusive})` : t.met ? '**met**' : '**missed**'}`))
    if (r.notes.length) lines.push('', ...r.notes.map((n) => `> ${n}`))
    lines.push('')
  }
  return lines.join('\n')
}

const verdict = (t: Target) => (t.inconclusive ? `inconclusive: ${t.inconclusive}` : t.met ? 'yes' : '**no**')

const targetValue = (t: Target) =>
  `${fmt(t.value)}${t.unit ? ` ${t.unit}` : ''}${t.rounds && t.rounds.length > 1 ? ` (${fmt(Math.min(...t.rounds))}–${fmt(Math.max(...t.rounds))}, ${t.rounds.length} rounds)` : t.rounds ? ' (1 round)' : ''}`

/** What the run was made on and under: for the one table's header. */
export interface RunConditions {
  commit: string
  /** 1-minute load average when the run began and ended */
  loadBefore: number
  loadAfter: number
  minutes: number
  /** BENCH_… variables the run was narrowed with, as NAME=value */
  knobs?: string[]
}

/**
 * The one table the README carries: every target of every scenario, its
 * measure with the spread over rounds, and whether it was met, under the
 * machine, commit and load it came from.
 */
export function toSummary(results: ScenarioResult[], rounds: number, run: RunConditions): string {
  const lines = [
    `One \`${run.knobs?.length ? `${run.knobs.join(' ')} ` : ''}npm run bench -- --rounds ${rounds}\` run on commit ${run.commit}, ${new Date().toISOString().slice(0, 10)}, ${run.minutes.toFixed(0)} minutes; ${machine()};`,
    `1-minute load average ${run.loadBefore.toFixed(1)} at the start and ${run.loadAfter.toFixed(1)} at the end (the benchmark's own processes). Median (min–max, rounds).`,
    '',
    '| scenario | target | measured | goal | met |',
    '|---|---|---|---|---|',
  ]
  for (const r of results) for (const t of r.targets) lines.push(`| ${r.scenario} | ${t.label} | ${targetValue(t)} | ${t.goal} | ${verdict(t)} |`)
  return lines.join('\n') + '\n'
}

export function writeResults(dir: string, results: ScenarioResult[], rounds: number, run?: RunConditions): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true })
  const markdown = join(dir, 'results.md')
  const json = join(dir, 'results.json')
  writeFileSync(markdown, toMarkdown(results, rounds))
  if (run) writeFileSync(join(dir, 'summary.md'), toSummary(results, rounds, run))
  const summarized = results.map((r) => ({
    ...r,
    rows: r.rows.map((row) => ({ subject: row.subject, metrics: Object.fromEntries(Object.entries(row.values).map(([k, v]) => [k, { ...spread(v), rounds: v }])) })),
  }))
  writeFileSync(json, JSON.stringify({ machine: machine(), date: new Date().toISOString(), rounds, run, results: summarized }, null, 2))
  return { markdown, json }
}
