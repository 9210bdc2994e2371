import { BlockList, isIP } from 'node:net'
import { lookup } from 'node:dns/promises'
import type { LookupFunction } from 'node:net'
import dns from 'node:dns'

// Webhooks are URLs a user types, and the worker POSTs to them from inside
// the network: without a check, an operator could make it reach the
// database's admin port, a cloud metadata endpoint, or anything else only the
// server can see (SSRF). An address in these ranges is refused unless its
// host is listed in WEBHOOK_ALLOWED_HOSTS. The check runs when a webhook is
// registered and again on each send, on the very address the connection
// uses (a name that resolved to a public address at registration may
// resolve to a private one later).

const blocked = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, and the deprecated IPv4-compatible ::a.b.c.d
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) blocked.addSubnet(net, prefix, 'ipv6')

export class RefusedAddressError extends Error {}

/** True if an address is private, loopback, link-local or otherwise not on the public internet. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family === 6) {
    // an IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as IPv4
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (mapped) return blocked.check(mapped[1]!, 'ipv4')
    const embedded = embeddedIPv4(address)
    if (embedded && blocked.check(embedded, 'ipv4')) return true
    return blocked.check(address, 'ipv6')
  }
  return true
}

/**
 * The IPv4 address inside an IPv6 one that a gateway translates to it:
 * NAT64 (64:ff9b::a.b.c.d, RFC 6052) and 6to4 (2002:AABB:CCDD::, RFC 3056).
 * A public IPv4 address inside them stays allowed (DNS64 hands those out on
 * IPv6-only networks); an internal one is refused as itself.
 */
function embeddedIPv4(address: string): string | undefined {
  const groups = expandIPv6(address)
  if (!groups) return undefined
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return v4(groups[6]!, groups[7]!)
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!)
  return undefined
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function expandIPv6(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '')
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const front = part(head)
  const back = part(tail)
  const groups = tail === undefined ? front : [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

export interface OutboundPolicy {
  /** host names or addresses, lower case, allowed although internal */
  allowedHosts: string[]
}

const hostOf = (url: URL) => url.hostname.toLowerCase().replace(/^\[|\]$/g, '')

/** Resolves a webhook URL's host and refuses it if any address it has is internal and the host is not allowed. */
export async function checkOutboundUrl(raw: string, policy: OutboundPolicy): Promise<void> {
  const url = new URL(raw)
  const host = hostOf(url)
  if (policy.allowedHosts.includes(host)) return
  let addresses: { address: string }[]
  try {
    addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true, verbatim: true })
  } catch {
    throw new RefusedAddressError(`the host ${host} does not resolve`)
  }
  const internal = addresses.find((a) => isInternalAddress(a.address))
  if (internal) throw new RefusedAddressError(`${host} resolves to ${internal.address}, a private, loopback or link-local address (allow it with WEBHOOK_ALLOWED_HOSTS)`)
}

/**
 * A `lookup` for http.request that refuses internal addresses at connect
 * time, so what is checked is what is connected to (no second resolution in
 * between that DNS could answer differently).
 */
export function guardedLookup(host: string, policy: OutboundPolicy): LookupFunction {
  const allowed = policy.allowedHosts.includes(host.toLowerCase())
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return (callback as (e: Error | null, a: string | dns.LookupAddress[], f?: number) => void)(error, [])
      const list = addresses as dns.LookupAddress[]
      const bad = allowed ? undefined : list.find((a) => isInternalAddress(a.address))
      if (bad) return (callback as (e: Error | null, a: string, f?: number) => void)(new RefusedAddressError(`${hostname} resolves to ${bad.address}, a private, loopback or link-local address (allow it with WEBHOOK_ALLOWED_HOSTS)`), '', 4)
      if ((options as { all?: boolean }).all) return (callback as (e: Error | null, a: dns.LookupAddress[]) => void)(null, list)
      const first = list[0]!
      ;(callback as (e: Error | null, a: string, f: number) => void)(null, first.address, first.family)
    })
  }
}
