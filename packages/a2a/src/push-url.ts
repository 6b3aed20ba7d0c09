import { lookup as dnsLookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'

/**
 * Where push notifications may go. By default only public addresses: a caller must not make the relay
 * POST to its own network (SSRF).
 */
export interface PushUrlPolicy {
  /** Allow every address, private and loopback included (tests, a relay inside a trusted network). */
  allowPrivate?: boolean
  /** Host names or IP literals allowed whatever they resolve to (exact, case-insensitive). */
  allowHosts?: readonly string[]
}

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true`); tests inject their own. */
export type HostLookup = (host: string) => Promise<readonly { address: string; family: number }[]>

const defaultLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true })

/** Addresses a push may never reach: loopback, private, link-local, unspecified, multicast, reserved. */
const FORBIDDEN = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64, may embed a private IPv4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6')
}

/**
 * IPv4-mapped IPv6 (::ffff:0:0/96): never a webhook's own address, so refused whatever it embeds. A list
 * of its own because a BlockList also matches every IPv4 address against an IPv6 rule for this range.
 */
const MAPPED = new BlockList()
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6')

/** Whether `address` (an IP literal) is one a push may not reach. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  if (family === 6 && MAPPED.check(address, 'ipv6')) return true
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * Why `url` may not receive pushes under `policy`, or undefined when it may. The scheme must be http(s);
 * unless the host is allowed, it is resolved and every address must be public. A host that does not
 * resolve is reported with `unresolved` (the caller decides: refuse, or retry later).
 */
export async function pushUrlProblem(
  url: string,
  policy: PushUrlPolicy = {},
  lookup: HostLookup = defaultLookup,
): Promise<{ reason: string; unresolved?: boolean } | undefined> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { reason: 'the push notification url is not a URL' }
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return { reason: `the push notification url must be http(s), not ${parsed.protocol.replace(/:$/, '')}` }
  }
  if (policy.allowPrivate === true) return undefined
  // URL keeps IPv6 literals in brackets.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if ((policy.allowHosts ?? []).some((allowed) => allowed.toLowerCase() === host)) return undefined
  let addresses: readonly { address: string }[]
  if (isIP(host) !== 0) addresses = [{ address: host }]
  else {
    try {
      addresses = await lookup(host)
    } catch (error) {
      const code = (error as { code?: unknown }).code
      return {
        reason: `the push notification host '${host}' does not resolve (${typeof code === 'string' ? code : 'lookup failed'})`,
        unresolved: true,
      }
    }
    if (addresses.length === 0) {
      return { reason: `the push notification host '${host}' has no address`, unresolved: true }
    }
  }
  const bad = addresses.find((a) => isForbiddenAddress(a.address))
  if (bad === undefined) return undefined
  return {
    reason: `the push notification url's host '${host}' is ${bad.address === host ? '' : `at ${bad.address}, `}a loopback, private, link-local, unspecified or multicast address, which the relay does not POST to; the relay operator can allow it (a2a push allowHosts / allowPrivate)`,
  }
}
