import { lookup as dnsLookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { z } from 'zod'

/**
 * Where push notifications may go. By default only public addresses: a caller must not make the relay
 * POST to its own network (SSRF).
 */
export interface PushUrlPolicy {
  /** Allow every address, private and loopback included (tests, a relay inside a trusted network). */
  allowPrivate?: boolean
  /**
   * What is allowed although internal: host names (exact, case-insensitive: allowed whatever they
   * resolve to), IP literals, and CIDR ranges (`10.20.0.0/16`, `fd00::/8`: every address inside).
   */
  allowHosts?: readonly string[]
}

/**
 * One entry of a push allow-list: a CIDR range, an IP literal or a host name, as given to
 * `--a2a-push-allow` or `AGENT_COMM_RELAY_A2A_PUSH_ALLOW`.
 */
export const PushAllowEntrySchema = z
  .string()
  .trim()
  .min(1)
  .refine((entry) => isAddressOrCidr(entry) || HOST_NAME.test(entry), {
    message: 'must be a CIDR range (10.0.0.0/8), an IP address or a host name',
  })

/**
 * Whether `entry` is an IP address or a CIDR range whose prefix fits its family (`10.0.0.0/8`, `fd00::/8`):
 * what an allow-list of networks, or the relay's list of trusted proxies, may hold.
 */
export function isAddressOrCidr(entry: string): boolean {
  return parseCidr(entry) !== undefined || isIP(entry) !== 0
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/

/** `net/prefix` as a network and prefix length, or undefined when `entry` is not a valid CIDR range. */
function parseCidr(entry: string): { net: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(entry)
  if (match === null) return undefined
  const family = isIP(match[1]!)
  const prefix = Number(match[2])
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined
  return { net: match[1]!, prefix, family: family === 4 ? 'ipv4' : 'ipv6' }
}

/** The addresses an allow-list lets through by IP (its IP literals and CIDR ranges). */
function allowedNetworks(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const cidr = parseCidr(entry)
    if (cidr !== undefined) list.addSubnet(cidr.net, cidr.prefix, cidr.family)
    else if (isIP(entry) !== 0) list.addAddress(entry, isIP(entry) === 4 ? 'ipv4' : 'ipv6')
  }
  return list
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

/** Why a push URL is refused; `unresolved` when its host does not resolve now (retry later). */
export interface PushUrlRefusal {
  reason: string
  unresolved?: boolean
}

/** A push URL that passed the check, with the addresses it was checked at (connect to these only). */
export interface CheckedPushUrl {
  url: URL
  /** The host without IPv6 brackets, lower-case. */
  host: string
  addresses: readonly { address: string; family: number }[]
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
): Promise<PushUrlRefusal | undefined> {
  const checked = await checkPushUrl(url, policy, lookup)
  return 'reason' in checked ? checked : undefined
}

/**
 * Resolves `url`'s host once and checks it as {@link pushUrlProblem} does, returning the addresses it
 * checked: the POST must connect to exactly these (a second lookup could answer differently — DNS
 * rebinding). A host allowed by name is resolved too, so that its POST is pinned as well.
 */
export async function checkPushUrl(
  url: string,
  policy: PushUrlPolicy = {},
  lookup: HostLookup = defaultLookup,
): Promise<CheckedPushUrl | PushUrlRefusal> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { reason: 'the push notification url is not a URL' }
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return { reason: `the push notification url must be http(s), not ${parsed.protocol.replace(/:$/, '')}` }
  }
  // URL keeps IPv6 literals in brackets.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  const allowList = policy.allowHosts ?? []
  const allowedByName = policy.allowPrivate === true || allowList.some((a) => a.toLowerCase() === host)
  let addresses: readonly { address: string; family: number }[]
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }]
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
  if (allowedByName) return { url: parsed, host, addresses }
  const networks = allowedNetworks(allowList)
  const bad = addresses.find(
    (a) => isForbiddenAddress(a.address) && !networks.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'),
  )
  if (bad === undefined) return { url: parsed, host, addresses }
  return {
    reason: `the push notification url's host '${host}' is ${bad.address === host ? '' : `at ${bad.address}, `}a loopback, private, link-local, unspecified or multicast address, which the relay does not POST to; the relay operator can allow it (--a2a-push-allow <CIDR|host>)`,
  }
}
