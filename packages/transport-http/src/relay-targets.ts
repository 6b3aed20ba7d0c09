import { ConfigError } from '@agent-comm/protocol'
import { type Dispatcher, Pool } from 'undici'

/** One relay a client may talk to. */
export interface RelayTarget {
  origin: string
  /** Path prefix of its API, kept and signed. */
  prefix: string
  dispatcher: Dispatcher
}

/** Query parameters of a request; undefined ones are left out. */
export type Query = Record<string, string | number | undefined>

/** The relays a client talks to: one URL, a list, or a comma-separated string; each http(s). */
export type RelayBaseUrl = string | URL | readonly (string | URL)[]

/**
 * The relays of `baseUrl`, in order, each with a keep-alive pool of `connections` (64) of its own, or all
 * through `dispatcher` when one is given.
 */
export function relayTargets(
  baseUrl: RelayBaseUrl,
  options: { connections?: number | undefined; dispatcher?: Dispatcher | undefined },
): RelayTarget[] {
  return relayUrls(baseUrl).map((url) => ({
    origin: url.origin,
    prefix: url.pathname.replace(/\/+$/, ''),
    dispatcher:
      options.dispatcher ??
      new Pool(url.origin, {
        connections: options.connections ?? 64,
        keepAliveTimeout: 30_000,
        pipelining: 1,
      }),
  }))
}

/** The base URL of `target`, without a trailing slash, as messages name the relay. */
export function baseUrlOf(target: RelayTarget): string {
  return `${target.origin}${target.prefix}`
}

/** The path of a request to `prefix` + `path`, with `query`'s defined parameters. */
export function pathWithQuery(prefix: string, path: string, query: Query | undefined): string {
  if (query === undefined) return `${prefix}${path}`
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value))
  }
  const search = params.toString()
  return `${prefix}${path}${search === '' ? '' : `?${search}`}`
}

/** The base URLs of `baseUrl`: one URL, a list, or a comma-separated string; each http(s). */
function relayUrls(baseUrl: RelayBaseUrl): URL[] {
  const given = (
    typeof baseUrl === 'string' ? baseUrl.split(',') : Array.isArray(baseUrl) ? baseUrl : [baseUrl]
  )
    .map((u) => String(u).trim())
    .filter((u) => u !== '')
  if (given.length === 0) {
    throw new ConfigError('No relay URL given', {
      hint: 'Give the relay base URL, e.g. http://relay.internal:8420',
    })
  }
  return given.map((text) => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new ConfigError(`Invalid relay URL '${text}'`, {
        hint: 'Give the relay base URL, e.g. http://relay.internal:8420 (several: comma-separated)',
      })
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`Invalid relay URL '${url.href}': must be http or https`)
    }
    return url
  })
}
