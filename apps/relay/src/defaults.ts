import {
  DEFAULT_AUTH_WINDOW_MS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_OPERATOR_ID,
  DEFAULT_POOL_SIZE,
  MAX_LEASE_SECONDS,
  MAX_POOL_SIZE,
} from '@agent-comm/protocol/bounds'

/**
 * The relay's defaults and bounds, in one place: `createRelay`'s options, the bin's configuration (flags
 * and environment variables, `loadRelayConfig` and `relayConfig`) and the CLI's `relay start` help are all
 * built from these. Free of zod (`@agent-comm/relay/defaults`), so a command line can print them cheaply.
 */
export const RELAY_DEFAULTS = {
  port: 8420,
  host: '127.0.0.1',
  authWindowSeconds: DEFAULT_AUTH_WINDOW_MS / 1000,
  /** Longest accepted clock distance of a signed request, in seconds: a day. */
  maxAuthWindowSeconds: 86_400,
  bodyLimitBytes: 1024 * 1024,
  /** Longest time to receive a whole request (headers and body), in ms; past it 408. */
  requestTimeoutMs: 60_000,
  /** Longest `requestTimeoutMs` a configuration may set, in seconds (an hour). */
  maxRequestTimeoutSeconds: 3600,
  minBodyLimitBytes: 1024,
  maxBodyLimitBytes: 64 * 1024 * 1024,
  rateLimitPerMinute: 6000,
  /** Requests one A2A caller may have waiting on tasks at once, per replica. */
  a2aMaxWaitsPerCaller: 20,
  maxRecipientsPerMessage: 1000,
  /** Highest `maxRecipientsPerMessage` accepted. */
  maxRecipientsLimit: 100_000,
  maxDeliveriesPerRequest: 5000,
  /** Highest `maxDeliveriesPerRequest` accepted. */
  maxDeliveriesLimit: 1_000_000,
  authFailuresPerMinute: 100,
  adminId: DEFAULT_OPERATOR_ID,
  leaseSeconds: DEFAULT_LEASE_SECONDS,
  /** Days acked and expired messages are kept before the relay removes them (0: never). */
  retentionDays: 7,
  maxRetentionDays: 36_500,
  maxLeaseSeconds: MAX_LEASE_SECONDS,
  poolSize: DEFAULT_POOL_SIZE,
  maxPoolSize: MAX_POOL_SIZE,
  logLevel: 'info',
} as const
