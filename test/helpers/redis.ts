import { createClient } from 'redis'

const BASE = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * A Redis database of its own for this vitest worker (1, 2, …), emptied, so
 * files running in parallel never share the `notifications` stream.
 */
export async function freshRedisUrl(): Promise<string> {
  const url = new URL(BASE)
  url.pathname = `/${1 + Number(process.env.VITEST_POOL_ID ?? 0)}`
  const client = createClient({ url: url.toString() })
  try {
    await client.connect()
  } catch (error) {
    throw new Error(`Redis is not reachable at ${BASE}: ${(error as Error).message}. Start it (see .ci/run) or set TEST_REDIS_URL.`)
  }
  await client.flushDb()
  await client.close()
  return url.toString()
}
