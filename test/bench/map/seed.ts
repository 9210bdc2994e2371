import { withClient } from '../../helpers/postgres.ts'

/** Names of the incidents the live poster reports, so a round can remove them again. */
export const LIVE_PREFIX = 'live '


/**
 * Adds `count` incidents straight into the table in one statement: going
 * through the API would take minutes at 50 000 and write an outbox row for
 * each, which nobody is listening for yet. Random points over the world (the
 * latitudes Web Mercator shows), severities mixed the way a real feed skews
 * (mostly minor, few urgent), some closed, reported over the last 30 days.
 * Seeded, so every run draws the same map.
 */
export async function seedIncidents(url: string, count: number, seed: number): Promise<void> {
  await withClient(url, async (client) => {
    await client.query('SELECT setseed($1)', [seed])
    await client.query(
      `INSERT INTO incidents (name, description, severity, closed, location, created, updated)
       SELECT format('seeded %s', n), 'seeded for the map benchmark',
              (CASE WHEN s < 0.30 THEN 'info' WHEN s < 0.55 THEN 'low' WHEN s < 0.80 THEN 'medium' WHEN s < 0.95 THEN 'high' ELSE 'urgent' END)::severity,
              closed, ST_SetSRID(ST_MakePoint(lon, lat), 4326), at, at
       FROM (
         SELECT n, random() AS s, random() < 0.15 AS closed,
                random() * 360 - 180 AS lon, random() * 160 - 80 AS lat,
                now() - random() * interval '30 days' AS at
         FROM generate_series(1, $1::int) AS n
       ) AS drawn`,
      [count],
    )
    // fresh statistics, so the loader's paged queries are planned for the table's real size
    await client.query('ANALYZE incidents')
  })
}

/** Removes what the live poster added, so every round loads the same number of incidents. */
export async function removeLiveIncidents(url: string): Promise<number> {
  return withClient(url, async (client) => (await client.query('DELETE FROM incidents WHERE name LIKE $1', [`${LIVE_PREFIX}%`])).rowCount ?? 0)
}

export async function countIncidents(url: string): Promise<number> {
  return withClient(url, async (client) => Number((await client.query('SELECT count(*) AS n FROM incidents')).rows[0].n))
}

/**
 * Waits until the outbox relay has published everything: leftovers of one
 * round's live updates must not keep the server busy while the next round's
 * page loads.
 */
export async function waitForOutboxDrained(url: string, timeoutMs = 15_000): Promise<void> {
  await withClient(url, async (client) => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const { rows } = await client.query('SELECT count(*) AS n FROM outbox')
      if (Number(rows[0].n) === 0) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`the outbox still holds unpublished notifications after ${timeoutMs} ms`)
  })
}
