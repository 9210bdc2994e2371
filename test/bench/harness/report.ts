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
  /** what was measured, in the target's terms */
  value: number
  goal: string
  met: boolean
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
    if (r.targets.length) lines.push('', ...r.targets.map((t) => `- target ${t.label} ${t.goal}: ${fmt(t.value)} → ${t.met ? '**met**' : '**missed**'}`))
    if (r.notes.length) lines.push('', ...r.notes.map((n) => `> ${n}`))
    lines.push('')
  }
  return lines.join('\n')
}

export function writeResults(dir: string, results: ScenarioResult[], rounds: number): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true })
  const markdown = join(dir, 'results.md')
  const json = join(dir, 'results.json')
  writeFileSync(markdown, toMarkdown(results, rounds))
  const summarized = results.map((r) => ({
    ...r,
    rows: r.rows.map((row) => ({ subject: row.subject, metrics: Object.fromEntries(Object.entries(row.values).map(([k, v]) => [k, { ...spread(v), rounds: v }])) })),
  }))
  writeFileSync(json, JSON.stringify({ machine: machine(), date: new Date().toISOString(), rounds, results: summarized }, null, 2))
  return { markdown, json }
}
