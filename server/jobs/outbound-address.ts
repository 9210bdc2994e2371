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
  ['::', 128],
  ['::1', 128],
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
    return blocked.check(address, 'ipv6')
  }
  return true
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
