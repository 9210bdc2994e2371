import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { percentile } from '../harness/stats.ts'
import type { LoadResult } from './load.ts'

// autocannon ships no types; this is the slice of its programmatic API we use
// (docs/api.md), typed here rather than in a global declaration so other
// scenarios can describe it their own way without clashing.
interface AutocannonRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string
}
interface AutocannonOptions {
  url: string
  connections: number
  amount?: number
  duration?: number
  timeout?: number
  headers?: Record<string, string>
  requests?: (AutocannonRequest & { setupRequest?: (request: AutocannonRequest) => AutocannonRequest })[]
}
interface AutocannonResult {
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats: Record<string, { count: number }>
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void): void
  stop(): void
}
type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export interface HttpLoadOptions {
  url: string
  sessionKey: string
  /** request bodies, sent in turn (one shared cursor across all connections) */
  bodies: string[]
  connections: number
  amount?: number
  durationSeconds?: number
}

/**
 * POST /api/incidents with a fixed number of keep-alive connections, each
 * sending its next request as soon as the last is answered (autocannon's
 * closed loop). Latency is autocannon's own per-response time (hrtime, ms
 * with fractions); only 201s count as saves.
 */
export function postIncidents(options: HttpLoadOptions): Promise<LoadResult> {
  let next = 0
  const samples: number[] = []
  let failed = 0
  let firstError: string | undefined
  return new Promise((resolve, reject) => {
    const begin = performance.now()
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        // autocannon validates keys that are present even when undefined: pass only the budget in use
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds ?? 10 }),
        timeout: 30,
        headers: { authorization: `Bearer ${options.sessionKey}`, 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            path: '/api/incidents',
            setupRequest: (request) => ({ ...request, body: options.bodies[next++ % options.bodies.length]! }),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error)
        // our own clock: autocannon's `duration` is rounded to 10 ms, too coarse for a tiny run
        const seconds = (performance.now() - begin) / 1000
        const errors = failed + result.errors
        if (result.errors) firstError ??= `${result.errors} connection errors (${result.timeouts} timeouts)`
        resolve({
          rate: samples.length / seconds,
          p50: percentile(samples, 50),
          p99: percentile(samples, 99),
          completed: samples.length,
          errors,
          firstError,
        })
      },
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === 201) samples.push(responseTime)
      else {
        failed++
        firstError ??= `HTTP ${statusCode}`
      }
    })
  })
}
