import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentile } from '../harness/stats.ts'
import type { LoadResult } from './load.ts'

export interface PacedOptions {
  url: string
  sessionKey: string
  bodies: string[]
  /** requests per second, sent evenly spaced whatever the answers do (an open loop) */
  rate: number
  /** keep-alive connections at most; a request finding them all busy waits for one */
  connections: number
  amount?: number
  durationMs?: number
}

/**
 * POST /api/incidents at a fixed pace. autocannon's `overallRate` sends each
 * connection's quota for the second in a burst at the start of the second,
 * which is a closed loop again for that burst; here request i is due at
 * i / rate seconds, and its latency runs from when it was due, so time spent
 * waiting for a free connection (or behind a stalled server) counts, as it
 * would for a user.
 */
export async function pacedPosts(options: PacedOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
  const target = new URL('/api/incidents', options.url)
  const total = options.amount ?? Math.max(1, Math.round((options.rate * (options.durationMs ?? 10_000)) / 1000))
  const samples: number[] = []
  let errors = 0
  let firstError: string | undefined
  const post = (body: string, due: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        target,
        {
          method: 'POST', agent,
          headers: { authorization: `Bearer ${options.sessionKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            if (res.statusCode === 201) samples.push(performance.now() - due)
            else {
              errors++
              firstError ??= `HTTP ${res.statusCode}`
            }
            resolve()
          })
        },
      )
      req.setTimeout(30_000, () => req.destroy(new Error('timed out after 30 s')))
      req.on('error', (error) => {
        errors++
        firstError ??= error.message
        resolve()
      })
      req.end(body)
    })
  const begin = performance.now()
  const inFlight: Promise<void>[] = []
  try {
    for (let i = 0; i < total; i++) {
      const due = begin + (i * 1000) / options.rate
      const wait = due - performance.now()
      if (wait > 1) await sleep(wait)
      inFlight.push(post(options.bodies[i % options.bodies.length]!, due))
    }
    await Promise.all(inFlight)
  } finally {
    agent.destroy()
  }
  const seconds = (performance.now() - begin) / 1000
  return { rate: samples.length / seconds, p50: percentile(samples, 50), p99: percentile(samples, 99), completed: samples.length, errors, firstError }
}
