import { isIP } from 'node:net'

/** Names @fastify/proxy-addr knows for well-known ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * TRUST_PROXY, read: the addresses (or CIDR ranges) of the reverse proxies
 * whose X-Forwarded-* headers are believed, or false for none. A request's
 * address is then the rightmost X-Forwarded-For entry that a trusted proxy
 * added; whatever the client itself wrote in front of it is ignored.
 *
 * Refused, because each would let any client choose its own address (and
 * so get around the per-address sign-in limit): `true`, a range covering
 * every address, and a hop count (Fastify 5 no longer honours one: it cannot
 * tell whether the last hop is the proxy or a client that connected directly).
 * Throws with a sentence saying what to set instead.
 */
export function parseTrustedProxies(value: string | undefined): string[] | false {
  if (value === undefined || value.trim() === '' || value.trim() === 'false') return false
  const text = JSON.stringify(value)
  const instead = 'set it to the address or CIDR range of your reverse proxy, e.g. TRUST_PROXY=10.0.0.2 or TRUST_PROXY=127.0.0.1,10.0.0.0/8'
  if (value.trim() === 'true') {
    throw new Error(`TRUST_PROXY must not be true (got ${text}): that lets any client choose its own address through X-Forwarded-For; ${instead}`)
  }
  if (/^\d+$/.test(value.trim())) {
    throw new Error(`TRUST_PROXY must not be a hop count (got ${text}): a client that connects directly could then choose its own address; ${instead}`)
  }
  const entries = value.split(',').map((entry) => entry.trim())
  for (const entry of entries) {
    const problem = entryProblem(entry)
    if (problem) throw new Error(`TRUST_PROXY ${problem} (got ${text}, at ${JSON.stringify(entry)}); ${instead}`)
  }
  return entries
}

function entryProblem(entry: string): string | undefined {
  if (NAMED_RANGES.has(entry)) return undefined
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (!family || rest.length) return 'must list IP addresses, CIDR ranges or loopback, linklocal, uniquelocal'
  if (prefix === undefined) return undefined
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN
  const max = family === 4 ? 32 : 128
  if (!(bits >= 0 && bits <= max)) return `has a CIDR prefix that is not 0 to ${max}`
  if (bits === 0) return 'must not trust every address (a /0 range)'
  return undefined
}
