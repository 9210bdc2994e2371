import { Agent, request } from 'node:http'
import { openLoop, type LoadResult } from './load.ts'

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
 * POST /api/incidents at a fixed pace (openLoop: latency from when a request
 * was due). autocannon's `overallRate` sends each connection's quota for the
 * second in a burst at the start of the second, which is a closed loop again
 * for that burst. Time spent waiting for a free connection, or behind a
 * stalled server, counts, as it would for a user.
 */
export async function pacedPosts(options: PacedOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
  const target = new URL('/api/incidents', options.url)
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST', agent,
          headers: { authorization: `Bearer ${options.sessionKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume()
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))))
        },
      )
      req.setTimeout(30_000, () => req.destroy(new Error('timed out after 30 s')))
      req.on('error', reject)
      req.end(body)
    })
  try {
    return await openLoop(options, (i) => post(options.bodies[i % options.bodies.length]!))
  } finally {
    agent.destroy()
  }
}
