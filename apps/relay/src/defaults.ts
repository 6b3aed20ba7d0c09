import { DEFAULT_LEASE_SECONDS, Limits, MAX_LEASE_SECONDS, MAX_POOL_SIZE } from '@agent-comm/protocol'
import { DEFAULT_AUTH_WINDOW_MS } from '@agent-comm/transport-http'

/**
 * The relay's defaults and bounds, in one place: `createRelay`'s options and the bin's configuration
 * (flags and environment variables, `loadRelayConfig` and `relayConfig`) are both built from these.
 */
export const RELAY_DEFAULTS = {
  port: 8420,
  host: '127.0.0.1',
  authWindowSeconds: DEFAULT_AUTH_WINDOW_MS / 1000,
  /** Longest accepted clock distance of a signed request, in seconds: a day. */
  maxAuthWindowSeconds: 86_400,
  bodyLimitBytes: 1024 * 1024,
  minBodyLimitBytes: 1024,
  maxBodyLimitBytes: 64 * 1024 * 1024,
  rateLimitPerMinute: 6000,
  maxRecipientsPerMessage: 1000,
  /** Highest `maxRecipientsPerMessage` accepted. */
  maxRecipientsLimit: 100_000,
  maxDeliveriesPerRequest: 5000,
  /** Highest `maxDeliveriesPerRequest` accepted. */
  maxDeliveriesLimit: 1_000_000,
  authFailuresPerMinute: 100,
  adminId: 'admin',
  adminIdMaxLength: Limits.agentIdMaxLength,
  leaseSeconds: DEFAULT_LEASE_SECONDS,
  maxLeaseSeconds: MAX_LEASE_SECONDS,
  maxPoolSize: MAX_POOL_SIZE,
  logLevel: 'info',
} as const
