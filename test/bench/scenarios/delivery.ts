import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { loadConfig } from '../../../server/config.ts'
import { median, type BenchOptions, type Row, type Scenario, type ScenarioResult } from '../harness/report.ts'
import { percentile } from '../harness/stats.ts'
import { Cleanup } from '../geofence/cleanup.ts'
import { machineLoad } from '../geofence/machine.ts'
import { startCountingSink } from '../delivery/counting-sink.ts'
import { runFloor, startFloor } from '../delivery/floor.ts'
import { PUBLIC_URL, startOurs } from '../delivery/ours.ts'
import type { RunPlan, RunResult } from '../delivery/run-result.ts'

// Alert delivery: how many alert mails per second reach the mailbox, and how
// long after the incident was reported, when 1 000 users subscribed to every
// area and each alert mails all of them. Ours is the whole deployed path
// (server, outbox trigger, dispatcher, BullMQ on Redis, a worker process,
// nodemailer) into an SMTP server on loopback; the floor is the worker's own
// mailer (nodemailer, same pool and concurrency) sending the same mails to the
// same SMTP server from a loop, with nothing before it.

/**
 * The worker runs on its defaults. BENCH_WORKER_ENV ("WORKER_CONCURRENCY=100
 * DB_POOL_SIZE=40", space-separated) changes them for an experiment, and
 * BENCH_WORKER_NODE_ARGS ("--cpu-prof --cpu-prof-dir=/tmp/prof") profiles it; the floor follows the worker's concurrency, so it stays the
 * same technique.
 */
const WORKER_ENV = Object.fromEntries((process.env.BENCH_WORKER_ENV ?? '').split(/\s+/).filter(Boolean).map((pair) => {
  const at = pair.indexOf('=')
  return [pair.slice(0, at), pair.slice(at + 1)]
}))
const JOBS = loadConfig(WORKER_ENV).jobs
const TARGET_RATIO = 0.8
const TARGET_P99_S = 2

interface Size {
  users: number
  /** alerts of a saturating run, all due at once */
  saturating: number
  /** a paced run lasts about this long, within [min, max] alerts */
  pacedSeconds: number
  pacedAlerts: [number, number]
}
const TINY: Size = { users: 20, saturating: 3, pacedSeconds: 1, pacedAlerts: [2, 3] }
const FULL: Size = { users: 1000, saturating: 8, pacedSeconds: 40, pacedAlerts: [4, 12] }

const SUBJECT = {
  ours: `ours: server + worker (BullMQ on Redis, PostgreSQL, nodemailer pool, ${JOBS.concurrency} jobs at once)`,
  floor: `floor: the worker's mailer alone (nodemailer pool of 5, ${JOBS.concurrency} sends in flight), same mails`,
  oursPaced: 'ours, alerts paced at half its rate (open loop)',
  floorPaced: 'floor, paced at the same rate (open loop)',
}

export const delivery: Scenario = {
  name: 'delivery',
  title: 'Alert delivery: alert → mailbox for 1 000 subscribers, beside nodemailer alone',
  run,
}

async function run(options: BenchOptions): Promise<ScenarioResult[]> {
  const began = performance.now()
  const log = (line: string) => options.log(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${line}`)
  const size = options.tiny ? TINY : FULL
  const loadBefore = loadavg()[0]!
  const loads: number[] = []
  const cleanup = new Cleanup(log)
  try {
    const sink = await startCountingSink()
    cleanup.add('close the SMTP sink', () => sink.close())
    const floor = startFloor()
    cleanup.add('stop the floor process', () => floor.close())
    const ours = await startOurs({ users: size.users, sink, cleanup, log, workerEnv: WORKER_ENV })
    if (Object.keys(WORKER_ENV).length) log(`the worker with ${process.env.BENCH_WORKER_ENV}`)
    // bounded: at least 20 mails/s, and never more than 10 minutes a run
    const timeoutFor = (plan: RunPlan) => Math.min(600_000, 60_000 + plan.alerts * size.users * 50)
    const settings = { smtpUrl: sink.url, from: JOBS.mailFrom, timeoutMs: JOBS.timeoutMs, publicUrl: PUBLIC_URL, concurrency: JOBS.concurrency }

    const results = new Map<string, RunResult[]>()
    const measure = async (subject: string, plan: RunPlan, measured = true) => {
      const result = subject === SUBJECT.ours || subject === SUBJECT.oursPaced
        ? await ours.run(plan, timeoutFor(plan)).catch((error: Error) => {
          throw new Error(`${subject}: ${error.message}\n${ours.describe()}`, { cause: error })
        })
        : await runFloor({ floor, sink, plan, settings, payload: await payload(), recipients: ours.recipients, timeoutMs: timeoutFor(plan) })
      if (result.mails !== result.expected) throw new Error(`${subject}: ${result.mails} of ${result.expected} mails arrived`)
      loads.push(loadavg()[0]!)
      log(`${measured ? '' : 'warm-up, '}${subject}: ${result.mails} mails, ${result.rate.toFixed(0)} mails/s, p50 ${result.p50.toFixed(2)} s, ` +
        `p99 ${result.p99.toFixed(2)} s${result.repeats ? `, ${result.repeats} repeated` : ''} (load average ${loads.at(-1)!.toFixed(1)})`)
      if (measured) results.set(subject, [...(results.get(subject) ?? []), result])
      return result
    }
    let samplePayload: unknown
    const payload = async () => (samplePayload ??= await ours.samplePayload())

    // one alert each first: code loaded, pools and connections open, BullMQ's scripts in Redis
    await measure(SUBJECT.ours, { runId: 'warm', alerts: 1, alertRate: Infinity }, false)
    await measure(SUBJECT.floor, { runId: 'warm', alerts: 1, alertRate: Infinity }, false)

    for (let round = 1; round <= options.rounds; round++) {
      log(`round ${round}/${options.rounds}`)
      // ours first in odd rounds, the floor first in even ones: neither always runs after the other's leftovers
      const saturating: RunPlan = { runId: `r${round}s`, alerts: size.saturating, alertRate: Infinity }
      const pair = async (first: () => Promise<RunResult>, second: () => Promise<RunResult>) => (round % 2 === 1 ? [await first(), await second()] : [await second(), await first()].reverse())
      const [oursSaturated] = await pair(() => measure(SUBJECT.ours, saturating), () => measure(SUBJECT.floor, { ...saturating, runId: `r${round}sf` }))
      // half of what ours just sustained, in alerts of `users` mails each
      const alertRate = oursSaturated!.rate / 2 / size.users
      const alerts = Math.min(size.pacedAlerts[1], Math.max(size.pacedAlerts[0], Math.round(size.pacedSeconds * alertRate)))
      const paced: RunPlan = { runId: `r${round}p`, alerts, alertRate }
      await pair(() => measure(SUBJECT.oursPaced, paced), () => measure(SUBJECT.floorPaced, { ...paced, runId: `r${round}pf` }))
    }
    return report({ options, size, results, loadBefore, loads })
  } finally {
    await cleanup.runAll()
  }
}

const UNITS = {
  'mails/s': 'mails per second',
  p50: 's, alert due → mail in',
  p99: 's, alert due → mail in',
  'sender CPU': 'ms per mail',
  'server CPU': 'ms per mail',
  'PostgreSQL CPU': 'ms per mail',
  'Redis CPU': 'ms per mail',
  'sink CPU': 'ms per mail',
}

function report(input: { options: BenchOptions; size: Size; results: Map<string, RunResult[]>; loadBefore: number; loads: number[] }): ScenarioResult[] {
  const { size, results } = input
  const rowsOf = (subjects: string[]): Row[] =>
    subjects.map((subject) => {
      const runs = results.get(subject)!
      const values: Record<string, number[]> = { 'mails/s': runs.map((r) => r.rate), p50: runs.map((r) => r.p50), p99: runs.map((r) => r.p99) }
      for (const metric of Object.keys(runs[0]!.cpu)) {
        const readings = runs.map((r) => r.cpu[metric]!)
        if (readings.every(Number.isFinite)) values[metric] = readings
      }
      return { subject, values }
    })
  const ours = results.get(SUBJECT.ours)!
  const floor = results.get(SUBJECT.floor)!
  const ratio = median(ours.map((r, i) => r.rate / floor[i]!.rate))
  const oursPaced = results.get(SUBJECT.oursPaced)!
  const pacedP99 = median(oursPaced.map((r) => r.p99))
  const oursRate = median(ours.map((r) => r.rate))
  const busy = (runs: RunResult[]) => median(runs.map((r) => (r.cpu['sender CPU']! * r.rate) / 10)).toFixed(0)
  const stages = (runs: RunResult[]) => {
    const pooled: Record<string, number[]> = {}
    for (const run of runs) for (const [stage, ms] of Object.entries(run.stages ?? {})) (pooled[stage] ??= []).push(...ms)
    return Object.entries(pooled).map(([stage, ms]) => `${stage} p50 ${(percentile(ms, 50) / 1000).toFixed(2)} s, p99 ${(percentile(ms, 99) / 1000).toFixed(2)} s`).join('; ')
  }
  const repeats = [...results.values()].flat().reduce((n, r) => n + r.repeats, 0)
  const pacedPlans = oursPaced.map((r) => `${(r.expected / size.users).toFixed(0)} alerts at ${((r.rate / size.users) * 60).toFixed(1)}/min`).join(', ')

  return [
    {
      scenario: 'delivery',
      case: `${size.users} subscribers, ${size.saturating} alerts due at once (${size.saturating * size.users} mails): the most mails per second`,
      units: UNITS,
      rows: rowsOf([SUBJECT.ours, SUBJECT.floor]),
      ratios: [{ label: 'ours / floor, mails/s (median of the rounds\' ratios)', value: ratio }],
      targets: [{ label: 'mails/s, ours / floor (median of the rounds\' ratios)', value: ratio, rounds: ours.map((r, i) => r.rate / floor[i]!.rate), goal: `≥ ${TARGET_RATIO}×`, met: ratio >= TARGET_RATIO }],
      notes: [
        'Ours: each incident is a POST /api/incidents inside the one area; its save\'s transaction stores the alert and (the outbox trigger) one delivery ' +
          'per subscriber; after the commit the server\'s dispatcher hands each delivery to BullMQ as a job; the worker process (`npm run worker`, ' +
          `defaults: WORKER_CONCURRENCY ${JOBS.concurrency}) claims the delivery, stores an acknowledge link, composes the mail, sends it through its ` +
          'nodemailer pool (5 connections) and records it sent. The floor is that same mailer (server/jobs/mailer.ts) and composer ' +
          `(composeAlertMail, a fresh acknowledge key per mail) in a process of its own, ${JOBS.concurrency} sends in flight, with the payload our ` +
          'trigger stored and the same addresses: the strongest plain sender of the same mails, not a one-at-a-time loop.',
        'Both send to one SMTP server in the benchmark\'s process (smtp-server) that reads only each message\'s header for its Message-ID and ' +
          'notes when its data ended, without parsing it (mailparser would cost more CPU per mail than either sender and set the pace). ' +
          'A run\'s rate is its distinct mails over the time from the first alert\'s due time to the last arrival; latency runs from the due time ' +
          'of the alert that caused a mail to its arrival. Each round runs ours and the floor back to back (ours first in odd rounds); the ratio ' +
          'is taken round by round.',
        'CPU per mail from /proc: "sender" is the worker\'s process group for ours and the floor\'s process for the floor, "server" the ' +
          'server\'s process group, "PostgreSQL" all of PostgreSQL, "sink" the benchmark\'s own process (the SMTP sink, and for ours the ' +
          'incident poster); "Redis" is the Redis server\'s own INFO (all of it). ' +
          `The sender used about ${busy(ours)}% of a core in ours, ${busy(floor)}% in the floor (saturating runs, medians).`,
        `Where ours' mails spent their time (saturating runs, all rounds pooled, PostgreSQL's timestamps): ${stages(ours)}.`,
        `Every mail arrived in every run${repeats ? `; ${repeats} arrived twice (same Message-ID)` : ', once'}. Server, worker, PostgreSQL, Redis, ` +
          'the floor, the sink and the poster share the machine.',
        machineLoad(input.loadBefore, input.loads),
      ],
    },
    {
      scenario: 'delivery',
      case: `${size.users} subscribers, alerts paced at half of ours' rate in the same round (about ${(oursRate / 2).toFixed(0)} mails/s; ${pacedPlans})`,
      units: UNITS,
      rows: rowsOf([SUBJECT.oursPaced, SUBJECT.floorPaced]),
      ratios: [],
      targets: [{ label: `p99 alert → mailbox at half of ours' rate`, value: pacedP99, rounds: oursPaced.map((r) => r.p99), unit: 's', goal: `< ${TARGET_P99_S} s`, met: pacedP99 < TARGET_P99_S }],
      notes: [
        'Incident i of a paced run is POSTed at t0 + i / rate whatever came back (an open loop); every one of its mails counts from then. ' +
          'The floor releases the same number of mails at the same times into its senders\' queue. An alert is a burst of one mail per ' +
          'subscriber, so at half the sustained rate the last mail of a burst still waits for the ones before it: the p99 is about the time ' +
          'to send one alert\'s mails at full speed, not a queue that builds up.',
        `Where ours' mails spent their time (paced runs, all rounds pooled): ${stages(oursPaced)}.`,
      ],
    },
  ]
}
