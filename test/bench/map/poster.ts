import { percentile } from '../harness/stats.ts'
import { SEVERITIES } from '../../../contracts/severity.ts'
import { LIVE_PREFIX } from './seed.ts'

export interface PosterStats {
  /** requests started */
  sent: number
  /** 201 Created */
  created: number
  failed: number
  /** created per second, from the start until the last reply */
  rate: number
  /** median and p95 of the POST round trip, ms */
  latencyP50: number
  latencyP95: number
}

export interface Poster {
  /** when the `n`th incident (named `${LIVE_PREFIX}n`) was due, in this process's clock (performance.now(), ms): latency counts from here, not from when it went */
  scheduledAt(n: number): number
  stop(): Promise<PosterStats>
}

/**
 * Reports incidents through the API at a steady `perSecond`, as an operator
 * would (each one goes through the repository, the outbox, Redis and the
 * socket to every open dashboard). Paced by the clock, not by the replies: a
 * slow server must not quietly lower the rate the page is exposed to; the
 * in-flight cap only keeps a stalled server from piling up thousands of
 * requests.
 */
export function startPoster(baseUrl: string, sessionKey: string, perSecond: number, maxInFlight = 200): Poster {
  const started = performance.now()
  const latencies: number[] = []
  const pending = new Set<Promise<void>>()
  let sent = 0
  let created = 0
  let failed = 0
  // a private generator: the page's pan path and the seeded map stay the same run to run; these only need to be spread out
  let state = 0x9e3779b9
  const random = () => ((state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32)

  const post = () => {
    const n = sent++
    const t0 = performance.now()
    const request = fetch(`${baseUrl}/api/incidents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sessionKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [random() * 360 - 180, random() * 160 - 80] },
        properties: { name: `${LIVE_PREFIX}${n}`, description: 'posted by the map benchmark', severity: SEVERITIES[Math.floor(random() * SEVERITIES.length)]! },
      }),
    })
      .then(async (response) => {
        await response.arrayBuffer() // drain, so the keep-alive connection is reused
        if (response.status === 201) {
          created++
          latencies.push(performance.now() - t0)
        } else failed++
      }, () => void failed++)
      .finally(() => pending.delete(request))
    pending.add(request)
  }

  // catch up every few ms on whatever the clock says is due: timers are too coarse to fire exactly every 10 ms
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond)
    while (sent < due && pending.size < maxInFlight) post()
  }, Math.max(2, Math.min(20, 1000 / perSecond / 2)))

  return {
    // the nth goes once the clock says n + 1 are due (the timer above)
    scheduledAt: (n) => started + ((n + 1) / perSecond) * 1000,
    async stop() {
      clearInterval(timer)
      await Promise.all(pending)
      const seconds = (performance.now() - started) / 1000
      return { sent, created, failed, rate: created / seconds, latencyP50: percentile(latencies, 50), latencyP95: percentile(latencies, 95) }
    },
  }
}
