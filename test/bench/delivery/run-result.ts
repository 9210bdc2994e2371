import { percentile } from '../harness/stats.ts'
import type { Arrival } from './counting-sink.ts'

/** One measured run of either subject: `alerts` alerts of one mail per subscriber, alert i due at t0 + i / alertRate. */
export interface RunPlan {
  runId: string
  alerts: number
  /** alerts per second; Infinity: all due at once (a saturating run) */
  alertRate: number
}

export interface RunResult {
  /** distinct mails that arrived */
  mails: number
  expected: number
  /** the same Message-ID arriving again */
  repeats: number
  /** distinct mails per second, from the first alert's due time to the last arrival */
  rate: number
  /** latency of each mail, due time of its alert → arrival, seconds */
  p50: number
  p99: number
  max: number
  /** CPU per mail, ms, by process */
  cpu: Record<string, number>
  /** ours only: a mail's time by stage, ms */
  stages?: Record<string, number[]>
}

/** Rate and latency of a run from what the sink saw; `scheduledOf` gives a mail's due time (wall ms) by its Message-ID. */
export function summarize(input: { arrivals: Arrival[]; expected: number; t0: number; scheduledOf: (messageId: string) => number | undefined }): RunResult {
  const seen = new Set<string>()
  const latencies: number[] = []
  let last = input.t0
  let repeats = 0
  for (const arrival of input.arrivals) {
    if (seen.has(arrival.messageId)) {
      repeats++
      continue
    }
    seen.add(arrival.messageId)
    const due = input.scheduledOf(arrival.messageId)
    if (due === undefined) throw new Error(`a mail nobody sent in this run arrived: ${arrival.messageId || '(no Message-ID)'}`)
    latencies.push((arrival.at - due) / 1000)
    last = Math.max(last, arrival.at)
  }
  return {
    mails: seen.size,
    expected: input.expected,
    repeats,
    rate: seen.size / ((last - input.t0) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    cpu: {},
  }
}
