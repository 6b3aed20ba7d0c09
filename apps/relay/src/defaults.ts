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
  /**
   * Long polls (claims and reply claims with a wait, waits) and event streams one agent may hold open at
   * once, per replica: a consumer holds one or two, an agent awaiting replies to requests it fanned out
   * holds one per request, so 100 leaves room for a wide fan-out while bounding the sockets one agent can tie up.
   */
  maxWaitsPerAgent: 100,
  /**
   * Console event streams one signed-in session may hold open at once, per replica: one per open tab of
   * the page (a browser keeps at most 6 HTTP/1.1 connections per host anyway), so 8 leaves room for a
   * reload overlapping its old stream while bounding what one stolen or looping session can tie up.
   */
  consoleStreamsPerSession: 8,
  /**
   * Console event streams open at once in one relay process, every session's together: each re-reads the
   * person's inbox and approvals on every change of the spool, so their number bounds that work.
   */
  consoleStreams: 256,
  /**
   * Overload: requests are shed (503) while the event loop's mean delay over a second is above this, in
   * ms. A second of delay means every timer and socket read is a second late: the relay is not serving,
   * which CPU contention alone (a 2-core machine at load 10 delays it by tens of ms) never causes.
   */
  maxEventLoopDelayMs: 1000,
  /**
   * Overload: event-loop utilization (0-1) above which requests are shed; 0, off by default: a healthy relay
   * at work is busy nearly all the time during a burst, and CPU contention inflates the figure, so it tells
   * a busy relay from an overloaded one worse than the delay does.
   */
  maxEventLoopUtilization: 0,
  /**
   * Overload: the share of V8's heap limit (`--max-old-space-size`) used above which requests are shed,
   * when no byte count is given: near the limit the process would soon stop with an out-of-memory crash.
   */
  maxHeapUsedShare: 0.9,
  /** Overload: resident memory in bytes above which requests are shed; 0, off by default (see the README). */
  maxRssBytes: 0,
  /** Seconds a shed request is told to wait (`Retry-After`): pressure is measured again every second. */
  overloadRetryAfterSeconds: 2,
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
