import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { isAddressOrCidr, PushAllowEntrySchema } from '@agent-comm/a2a'
import {
  ConfigError,
  errorMessage,
  Limits,
  LOG_LEVELS,
  type LogLevel,
  MAX_PORT,
  readLogLevel,
} from '@agent-comm/protocol'
import { z } from 'zod'
import { RELAY_DEFAULTS as D } from './defaults.js'

/** Everything `startRelay` needs; `loadRelayConfig` reads it from flags and environment variables. */
export interface RelayConfig {
  /** TCP port (8420); 0 picks a free one. */
  port: number
  /** Address to listen on (127.0.0.1: this machine only; 0.0.0.0 for every interface, behind TLS). */
  host: string
  /** Folder of the relay's database (`relay.db`) and secret store (`secrets.json`); unused on PostgreSQL. */
  dataDir: string
  /**
   * A `postgres://` URL: the relay runs as one replica of many on this PostgreSQL database (spool, registry,
   * nonces and sealed secrets), instead of on `dataDir` (none: SQLite).
   */
  databaseUrl?: string
  /** PostgreSQL schema holding the tables (`agent_comm`). */
  postgresSchema?: string
  /** Most connections of the spool's pool per replica (10). */
  postgresPoolSize?: number
  /**
   * Whether a request's nonce waits for PostgreSQL's WAL flush (`durable`) or not (`relaxed`, the default;
   * see `PostgresNonceStore` in @agent-comm/postgres for what it keeps). Unused on SQLite.
   */
  postgresNonceCommit?: 'relaxed' | 'durable'
  /**
   * Whether claims and acks wait for PostgreSQL's WAL flush (`durable`, the default) or not (`relaxed`: a
   * crash of the PostgreSQL server may forget the last leases and acks, which means redeliveries, never a
   * lost message; see `ClaimCommit` in @agent-comm/postgres). Unused on SQLite.
   */
  postgresClaimCommit?: 'relaxed' | 'durable'
  /**
   * The key secrets are sealed under in the database, 32 bytes in base64 (from the environment): on
   * PostgreSQL agents' secrets and the A2A push-signing key; on SQLite the A2A push-signing key (none
   * given: `<dataDir>/secrets.key`, made on first start).
   */
  secretsKey?: string
  /** A file holding that key instead (its contents: the base64 text). */
  secretsKeyFile?: string
  /** Accepted distance between a request's timestamp and the relay's clock, in seconds (300). */
  authWindowSeconds: number
  /** Largest request body in bytes (1 MiB). */
  bodyLimitBytes: number
  /**
   * Longest time a client may take to send a whole request, headers and body, in seconds (60): past it
   * the relay answers 408 and closes the connection. Long polls and event streams are answers, not cut.
   */
  requestTimeoutSeconds: number
  /** Work units per agent per minute (6000; a request is one, a send one per delivery); 0 turns the limit off. */
  rateLimitPerMinute: number
  /** Most distinct recipients of one message (1000). */
  maxRecipientsPerMessage: number
  /** Most deliveries one send request may create (5000); also charged to the rate limit, one unit each. */
  maxDeliveriesPerRequest: number
  /** Failed authentications per client address per minute (100) before it is refused; 0 turns it off. */
  authFailuresPerMinute: number
  /** Whom to believe about client addresses (`X-Forwarded-For`): see `RelayOptions.trustProxy` (false). */
  trustProxy: boolean | string
  /**
   * The relay's URL as clients reach it (`https://relay.example.com`), for the A2A agent cards; none: from
   * each request's Host header (and, behind a trusted proxy, its `X-Forwarded-Host`/`-Proto`).
   */
  publicUrl?: string
  /** The relay's name in version 2 signatures, shared by its replicas (none). */
  audience?: string
  /** Refuse version 1 signatures, not bound to a relay (false; needs `audience`). */
  requireAudience: boolean
  /** The operator's agent id (`admin`). */
  adminId: string
  /** An admin secret given from the environment, besides any stored with `gen-secret admin`. */
  adminSecret?: string
  /** Default lease of claims that name none, in seconds (60). */
  leaseSeconds: number
  /**
   * A2A push webhooks: CIDR ranges, IP addresses or host names allowed even on loopback/private
   * addresses (none), or `true` for every address (`*`: tests, a relay inside a trusted network). By
   * default only public addresses get pushes.
   */
  a2aPushAllow?: readonly string[] | true
  /**
   * Requests one A2A caller may have waiting on tasks at once, per replica (20): a `SendMessage` without
   * `returnImmediately`, a `SendStreamingMessage`, a `SubscribeToTask`; 0 turns the limit off.
   */
  a2aMaxWaitsPerCaller: number
  /**
   * Long polls (claims and reply claims with `waitMs`, waits) and event streams one agent may hold open at
   * once, per replica (100); one more is refused with 429 before anything is claimed. 0 turns the limit off.
   */
  maxWaitsPerAgent: number
  /** Overload: shed requests (503) while the event loop's mean delay is above this, in ms (1000; 0: off). */
  maxEventLoopDelayMs: number
  /** Overload: shed requests while event-loop utilization (0-1) is above this (0: off, the default). */
  maxEventLoopUtilization: number
  /** Overload: shed requests while the V8 heap used is above this, in bytes (none: 90% of V8's heap limit; 0: off). */
  maxHeapUsedBytes?: number
  /** Overload: shed requests while the resident memory is above this, in bytes (0: off, the default). */
  maxRssBytes: number
  /**
   * Days the relay keeps messages every recipient acked, and expired ones (dead letters among them),
   * before its hourly cleanup removes them (7); 0 turns the cleanup off.
   */
  retentionDays: number
  logLevel: LogLevel
}

/** The relay's environment variables and what each sets; a flag given on the command line wins. */
export const RELAY_ENV_VARIABLES = {
  AGENT_COMM_RELAY_PORT: `TCP port (default ${D.port}; flag --port)`,
  AGENT_COMM_RELAY_HOST: `address to listen on (default ${D.host}; flag --host)`,
  AGENT_COMM_RELAY_DATA_DIR: 'folder of relay.db and secrets.json (default ./data/relay; flag --data-dir)',
  AGENT_COMM_RELAY_DATABASE_URL:
    'postgres:// URL: run as a replica on PostgreSQL instead of SQLite in the data folder (default none; flag --db)',
  AGENT_COMM_RELAY_PG_SCHEMA:
    'PostgreSQL only: schema holding the tables (default agent_comm; flag --db-schema)',
  AGENT_COMM_RELAY_PG_POOL_SIZE: `PostgreSQL only: most connections per replica (default ${D.poolSize}; flag --pool-size)`,
  AGENT_COMM_RELAY_PG_NONCE_COMMIT:
    "PostgreSQL only: relaxed (a request's nonce is committed without waiting for the WAL flush; its effects always wait) or durable (default relaxed; environment only)",
  AGENT_COMM_RELAY_PG_CLAIM_COMMIT:
    'PostgreSQL only: durable (claims and acks wait for the WAL flush) or relaxed (they do not: a PostgreSQL crash may forget the last leases and acks, so those messages are delivered again; sends always wait) (default durable; environment only)',
  AGENT_COMM_RELAY_SECRETS_KEY:
    "the key secrets are encrypted under in the database, 32 random bytes in base64, the same on every replica: on PostgreSQL (required) agents' secrets and the A2A push-signing key, on SQLite the A2A push-signing key (default there: <data-dir>/secrets.key, made on first start); environment only, never a flag",
  AGENT_COMM_RELAY_SECRETS_KEY_FILE: 'a file holding that key instead (flag --secrets-key-file)',
  AGENT_COMM_RELAY_AUTH_WINDOW_SECONDS: `accepted clock distance of signed requests in seconds (default ${D.authWindowSeconds}; flag --auth-window)`,
  AGENT_COMM_RELAY_BODY_LIMIT: `largest request body in bytes (default ${D.bodyLimitBytes}; flag --body-limit)`,
  AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS: `longest time a client may take to send a whole request (headers and body) before a 408, in seconds; long polls and streams are not cut by it (default ${D.requestTimeoutMs / 1000}; flag --request-timeout)`,
  AGENT_COMM_RELAY_RATE_LIMIT: `work units per agent per minute — a request is one, a send one per delivery — 0 for no limit (default ${D.rateLimitPerMinute}; flag --rate-limit)`,
  AGENT_COMM_RELAY_MAX_RECIPIENTS: `most distinct recipients of one message, given or resolved from * / capability: (default ${D.maxRecipientsPerMessage}; flag --max-recipients)`,
  AGENT_COMM_RELAY_MAX_DELIVERIES: `most deliveries one send request may create (default ${D.maxDeliveriesPerRequest}, at most the rate limit; flag --max-deliveries)`,
  AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT: `failed authentications per client address per minute before it is refused, 0 for no limit (default ${D.authFailuresPerMinute}; flag --auth-failure-limit)`,
  AGENT_COMM_RELAY_TRUST_PROXY:
    "behind a reverse proxy: true (any proxy), or the proxies' addresses/CIDRs comma-separated, to take client addresses from X-Forwarded-For (default false; flag --trust-proxy)",
  AGENT_COMM_RELAY_PUBLIC_URL:
    "the relay's URL as clients reach it, e.g. https://relay.example.com: the A2A agent cards name it, whatever Host or X-Forwarded-Host a request gives (default none: from each request; flag --public-url)",
  AGENT_COMM_RELAY_AUDIENCE:
    "this relay's name in version 2 signatures, the same on every replica; clients set it as their audience (default none; flag --audience)",
  AGENT_COMM_RELAY_REQUIRE_AUDIENCE:
    'true: refuse version 1 signatures, which are not bound to a relay (needs an audience; default false; flag --require-audience)',
  AGENT_COMM_RELAY_ADMIN_ID: `the operator's agent id (default ${D.adminId}; flag --admin-id)`,
  AGENT_COMM_RELAY_ADMIN_SECRET: 'an admin secret (at least 16 characters); environment only, never a flag',
  AGENT_COMM_RELAY_LEASE_SECONDS: `default lease of claims in seconds (default ${D.leaseSeconds}; flag --lease-seconds)`,
  AGENT_COMM_RELAY_A2A_PUSH_ALLOW:
    'A2A push webhooks allowed on internal addresses: CIDR ranges, IP addresses or host names, comma-separated, or * for every address (default none: public addresses only; flag --a2a-push-allow, repeatable)',
  AGENT_COMM_RELAY_A2A_MAX_WAITS: `requests one A2A caller may have waiting on tasks at once per replica — SendMessage without returnImmediately, SendStreamingMessage, SubscribeToTask — 0 for no limit (default ${D.a2aMaxWaitsPerCaller}; flag --a2a-max-waits)`,
  AGENT_COMM_RELAY_MAX_WAITS: `long polls (claims and reply claims with a wait, waits) and event streams one agent may hold open at once per replica — one more gets 429 — 0 for no limit (default ${D.maxWaitsPerAgent}; flag --max-waits)`,
  AGENT_COMM_RELAY_MAX_EVENT_LOOP_DELAY: `overload: shed requests (503, Retry-After) while the event loop's mean delay is above this many ms, 0 for never (default ${D.maxEventLoopDelayMs}; flag --max-event-loop-delay)`,
  AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION: `overload: shed requests while event-loop utilization is above this fraction, e.g. 0.98, 0 for never (default ${D.maxEventLoopUtilization}: never; flag --max-event-loop-utilization)`,
  AGENT_COMM_RELAY_MAX_HEAP_USED: `overload: shed requests while the V8 heap used is above this many bytes, 0 for never (default ${D.maxHeapUsedShare * 100}% of V8's heap limit; flag --max-heap-used)`,
  AGENT_COMM_RELAY_MAX_RSS: `overload: shed requests while the resident memory is above this many bytes, e.g. 80% of the container's memory limit, 0 for never (default ${D.maxRssBytes}: never; flag --max-rss)`,
  AGENT_COMM_RELAY_RETENTION_DAYS: `days acked and expired messages (dead letters among them) are kept before the relay's hourly cleanup removes them, 0 to keep everything (default ${D.retentionDays}; flag --retention-days)`,
  AGENT_COMM_RELAY_LOG_LEVEL: `log level: ${LOG_LEVELS.join(', ')} (default ${D.logLevel}; flag --log-level)`,
} as const

type Variable = keyof typeof RELAY_ENV_VARIABLES

/** Command-line flags and the variable each overrides. */
const FLAGS = {
  port: 'AGENT_COMM_RELAY_PORT',
  host: 'AGENT_COMM_RELAY_HOST',
  'data-dir': 'AGENT_COMM_RELAY_DATA_DIR',
  db: 'AGENT_COMM_RELAY_DATABASE_URL',
  'db-schema': 'AGENT_COMM_RELAY_PG_SCHEMA',
  'pool-size': 'AGENT_COMM_RELAY_PG_POOL_SIZE',
  'secrets-key-file': 'AGENT_COMM_RELAY_SECRETS_KEY_FILE',
  'auth-window': 'AGENT_COMM_RELAY_AUTH_WINDOW_SECONDS',
  'body-limit': 'AGENT_COMM_RELAY_BODY_LIMIT',
  'request-timeout': 'AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS',
  'rate-limit': 'AGENT_COMM_RELAY_RATE_LIMIT',
  'max-recipients': 'AGENT_COMM_RELAY_MAX_RECIPIENTS',
  'max-deliveries': 'AGENT_COMM_RELAY_MAX_DELIVERIES',
  'auth-failure-limit': 'AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT',
  'trust-proxy': 'AGENT_COMM_RELAY_TRUST_PROXY',
  'public-url': 'AGENT_COMM_RELAY_PUBLIC_URL',
  audience: 'AGENT_COMM_RELAY_AUDIENCE',
  'require-audience': 'AGENT_COMM_RELAY_REQUIRE_AUDIENCE',
  'admin-id': 'AGENT_COMM_RELAY_ADMIN_ID',
  'lease-seconds': 'AGENT_COMM_RELAY_LEASE_SECONDS',
  'a2a-push-allow': 'AGENT_COMM_RELAY_A2A_PUSH_ALLOW',
  'a2a-max-waits': 'AGENT_COMM_RELAY_A2A_MAX_WAITS',
  'max-waits': 'AGENT_COMM_RELAY_MAX_WAITS',
  'max-event-loop-delay': 'AGENT_COMM_RELAY_MAX_EVENT_LOOP_DELAY',
  'max-event-loop-utilization': 'AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION',
  'max-heap-used': 'AGENT_COMM_RELAY_MAX_HEAP_USED',
  'max-rss': 'AGENT_COMM_RELAY_MAX_RSS',
  'retention-days': 'AGENT_COMM_RELAY_RETENTION_DAYS',
  'log-level': 'AGENT_COMM_RELAY_LOG_LEVEL',
} as const satisfies Record<string, Variable>

/** The bin's `--help` text. */
export const RELAY_USAGE = `Usage: agent-comm-relay [options]

Runs the agent-comm relay: agents on other machines send, claim and ack messages over HTTP,
every request signed with the agent's secret (HMAC-SHA256).

Options (each also read from the environment variable shown; a flag wins):
${Object.entries(FLAGS)
  .map(([flag, variable]) => `  --${flag.padEnd(28)} ${RELAY_ENV_VARIABLES[variable]}  [${variable}]`)
  .join('\n')}
  --help                         this text

AGENT_COMM_RELAY_ADMIN_SECRET sets an admin secret (environment only).
AGENT_COMM_RELAY_PG_NONCE_COMMIT=durable makes each nonce wait for PostgreSQL's WAL flush (environment only).
AGENT_COMM_RELAY_PG_CLAIM_COMMIT=relaxed lets claims and acks skip it: a redelivery after a PostgreSQL crash (environment only).
On PostgreSQL (--db), AGENT_COMM_RELAY_SECRETS_KEY (environment only) or --secrets-key-file gives the key.
Secrets: agent-comm relay gen-secret <agent> (or SecretStore from @agent-comm/secrets).
`

/** An absolute http(s) URL a client can be sent to: no query or fragment, which a path appended would break. */
function isPublicUrl(value: string): boolean {
  if (!URL.canParse(value)) return false
  const url = new URL(value)
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    !/[?#]/.test(value)
  )
}

const int = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be ${what}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

const ConfigSchema = z.object({
  AGENT_COMM_RELAY_PORT: int(0, MAX_PORT, 'a port number').default(D.port),
  AGENT_COMM_RELAY_HOST: z.string().min(1).default(D.host),
  AGENT_COMM_RELAY_DATA_DIR: z.string().min(1).default('data/relay'),
  AGENT_COMM_RELAY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  AGENT_COMM_RELAY_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,51}$/, 'must be a lower-case identifier (letters, digits, _; at most 52)')
    .optional(),
  AGENT_COMM_RELAY_PG_POOL_SIZE: int(1, D.maxPoolSize, 'a number of connections').optional(),
  AGENT_COMM_RELAY_PG_NONCE_COMMIT: z
    .enum(['relaxed', 'durable'], { error: 'must be relaxed or durable' })
    .optional(),
  AGENT_COMM_RELAY_PG_CLAIM_COMMIT: z
    .enum(['durable', 'relaxed'], { error: 'must be durable or relaxed' })
    .optional(),
  AGENT_COMM_RELAY_SECRETS_KEY: z.string().min(1).optional(),
  AGENT_COMM_RELAY_SECRETS_KEY_FILE: z.string().min(1).optional(),
  AGENT_COMM_RELAY_AUTH_WINDOW_SECONDS: int(1, D.maxAuthWindowSeconds, 'a number of seconds').default(
    D.authWindowSeconds,
  ),
  AGENT_COMM_RELAY_BODY_LIMIT: int(D.minBodyLimitBytes, D.maxBodyLimitBytes, 'a number of bytes').default(
    D.bodyLimitBytes,
  ),
  AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS: int(1, D.maxRequestTimeoutSeconds, 'a number of seconds').default(
    D.requestTimeoutMs / 1000,
  ),
  AGENT_COMM_RELAY_RATE_LIMIT: int(0, 100_000_000, 'a number of requests').default(D.rateLimitPerMinute),
  AGENT_COMM_RELAY_MAX_RECIPIENTS: int(1, D.maxRecipientsLimit, 'a number of recipients').default(
    D.maxRecipientsPerMessage,
  ),
  AGENT_COMM_RELAY_MAX_DELIVERIES: int(1, D.maxDeliveriesLimit, 'a number of deliveries').default(
    D.maxDeliveriesPerRequest,
  ),
  AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT: int(0, 100_000_000, 'a number of requests').default(
    D.authFailuresPerMinute,
  ),
  AGENT_COMM_RELAY_TRUST_PROXY: z
    .string()
    // Every entry checked here: fastify would otherwise throw its own TypeError at start for a range such
    // as 10.0.0.0/99, naming neither the flag nor the variable.
    .refine(
      (value) =>
        value === 'true' ||
        value === 'false' ||
        value.split(',').every((entry) => isAddressOrCidr(entry.trim())),
      "must be true, false, or the proxies' addresses/CIDRs comma-separated",
    )
    .transform((value): boolean | string => (value === 'true' ? true : value === 'false' ? false : value))
    .default(false),
  AGENT_COMM_RELAY_PUBLIC_URL: z
    .string()
    .refine(isPublicUrl, 'must be an http:// or https:// URL without credentials, query or fragment')
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  AGENT_COMM_RELAY_AUDIENCE: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 printable characters without spaces')
    .optional(),
  AGENT_COMM_RELAY_REQUIRE_AUDIENCE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .default(false),
  AGENT_COMM_RELAY_ADMIN_ID: z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9._:@-]{1,${Limits.agentIdMaxLength}}$`), 'must be an agent id')
    .default(D.adminId),
  AGENT_COMM_RELAY_ADMIN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  AGENT_COMM_RELAY_LEASE_SECONDS: int(1, D.maxLeaseSeconds, 'a number of seconds').default(D.leaseSeconds),
  AGENT_COMM_RELAY_A2A_PUSH_ALLOW: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()))
    .pipe(
      z.union([
        z.tuple([z.literal('*')]).transform((): true => true),
        z.array(PushAllowEntrySchema.refine((entry) => entry !== '*', 'must be alone when it is *')),
      ]),
    )
    .optional(),
  AGENT_COMM_RELAY_A2A_MAX_WAITS: int(0, 1_000_000, 'a number of requests').default(D.a2aMaxWaitsPerCaller),
  AGENT_COMM_RELAY_MAX_WAITS: int(0, 1_000_000, 'a number of requests').default(D.maxWaitsPerAgent),
  AGENT_COMM_RELAY_MAX_EVENT_LOOP_DELAY: int(0, 3_600_000, 'a number of milliseconds').default(
    D.maxEventLoopDelayMs,
  ),
  AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION: z
    .string()
    .regex(/^(0|0?\.\d+)$/, 'must be a fraction from 0 up to (not including) 1, e.g. 0.98')
    .transform(Number)
    .default(D.maxEventLoopUtilization),
  AGENT_COMM_RELAY_MAX_HEAP_USED: int(0, Number.MAX_SAFE_INTEGER, 'a number of bytes').optional(),
  AGENT_COMM_RELAY_MAX_RSS: int(0, Number.MAX_SAFE_INTEGER, 'a number of bytes').default(D.maxRssBytes),
  AGENT_COMM_RELAY_RETENTION_DAYS: int(0, D.maxRetentionDays, 'a number of days').default(D.retentionDays),
  // Read as AGENT_COMM_LOG_LEVEL is by the CLI and the MCP server (readLogLevel: WARN is warn); a value
  // that names no level is kept as given, for the error to show it.
  AGENT_COMM_RELAY_LOG_LEVEL: z
    .string()
    .transform((level) => readLogLevel(level) ?? level)
    .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }))
    .default(D.logLevel),
})

/** Variables whose values are never shown in an error. */
const HIDDEN = new Set([
  'AGENT_COMM_RELAY_ADMIN_SECRET',
  'AGENT_COMM_RELAY_SECRETS_KEY',
  'AGENT_COMM_RELAY_DATABASE_URL',
])

/** What {@link loadRelayConfig} returns: the config, or a request for the usage text. */
export type LoadedRelayConfig = { help: true } | { help: false; config: RelayConfig }

/**
 * Reads the relay's settings from command-line flags (`argv` without node and the script) and the
 * environment (pass `process.env`; only the bin should). A flag overrides its variable; relative data
 * folders are resolved against `cwd`. An invalid value throws a `ConfigError` naming the flag or variable.
 */
export function loadRelayConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: { cwd?: string } = {},
): LoadedRelayConfig {
  let parsed: ReturnType<
    typeof parseArgs<{ options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> }>
  >
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
        // Repeatable: each occurrence adds entries (themselves comma-separated, like the variable).
        'a2a-push-allow': { type: 'string', multiple: true },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    })
  } catch (error) {
    throw new ConfigError(errorMessage(error), {
      hint: 'Run agent-comm-relay --help for the options.',
    })
  }
  if (parsed.values.help === true) return { help: true }
  const source: Record<string, string> = {}
  const origin: Record<string, string> = {}
  for (const variable of Object.keys(RELAY_ENV_VARIABLES) as Variable[]) {
    const value = env[variable]?.trim()
    if (value !== undefined && value !== '') {
      source[variable] = value
      origin[variable] = variable
    }
  }
  for (const [flag, variable] of Object.entries(FLAGS)) {
    const value = parsed.values[flag]
    if (typeof value === 'string' || Array.isArray(value)) {
      source[variable] =
        typeof value === 'string' ? value.trim() : value.map((v) => String(v).trim()).join(',')
      origin[variable] = `--${flag}`
    }
  }
  const result = ConfigSchema.safeParse(source)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const variable = String(issue.path[0])
    const name = origin[variable] ?? variable
    const shown = HIDDEN.has(variable) ? '(hidden)' : `'${source[variable]}'`
    throw new ConfigError(`${name} ${issue.message} (got ${shown})`, {
      hint: `Fix ${name}, which sets: ${RELAY_ENV_VARIABLES[variable as Variable] ?? variable}.`,
      details: { variable: name },
    })
  }
  const v = result.data
  if (v.AGENT_COMM_RELAY_REQUIRE_AUDIENCE && v.AGENT_COMM_RELAY_AUDIENCE === undefined) {
    throw new ConfigError('--require-audience needs an audience', {
      hint: 'Set --audience (AGENT_COMM_RELAY_AUDIENCE) to the name clients sign for.',
    })
  }
  const cwd = options.cwd ?? '.'
  return {
    help: false,
    config: {
      port: v.AGENT_COMM_RELAY_PORT,
      host: v.AGENT_COMM_RELAY_HOST,
      dataDir: resolve(cwd, v.AGENT_COMM_RELAY_DATA_DIR),
      databaseUrl: v.AGENT_COMM_RELAY_DATABASE_URL,
      postgresSchema: v.AGENT_COMM_RELAY_PG_SCHEMA,
      postgresPoolSize: v.AGENT_COMM_RELAY_PG_POOL_SIZE,
      postgresNonceCommit: v.AGENT_COMM_RELAY_PG_NONCE_COMMIT,
      postgresClaimCommit: v.AGENT_COMM_RELAY_PG_CLAIM_COMMIT,
      secretsKey: v.AGENT_COMM_RELAY_SECRETS_KEY,
      secretsKeyFile:
        v.AGENT_COMM_RELAY_SECRETS_KEY_FILE === undefined
          ? undefined
          : resolve(cwd, v.AGENT_COMM_RELAY_SECRETS_KEY_FILE),
      authWindowSeconds: v.AGENT_COMM_RELAY_AUTH_WINDOW_SECONDS,
      bodyLimitBytes: v.AGENT_COMM_RELAY_BODY_LIMIT,
      requestTimeoutSeconds: v.AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS,
      rateLimitPerMinute: v.AGENT_COMM_RELAY_RATE_LIMIT,
      maxRecipientsPerMessage: v.AGENT_COMM_RELAY_MAX_RECIPIENTS,
      maxDeliveriesPerRequest: v.AGENT_COMM_RELAY_MAX_DELIVERIES,
      authFailuresPerMinute: v.AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT,
      trustProxy: v.AGENT_COMM_RELAY_TRUST_PROXY,
      publicUrl: v.AGENT_COMM_RELAY_PUBLIC_URL,
      audience: v.AGENT_COMM_RELAY_AUDIENCE,
      requireAudience: v.AGENT_COMM_RELAY_REQUIRE_AUDIENCE,
      adminId: v.AGENT_COMM_RELAY_ADMIN_ID,
      adminSecret: v.AGENT_COMM_RELAY_ADMIN_SECRET,
      leaseSeconds: v.AGENT_COMM_RELAY_LEASE_SECONDS,
      a2aPushAllow: v.AGENT_COMM_RELAY_A2A_PUSH_ALLOW,
      a2aMaxWaitsPerCaller: v.AGENT_COMM_RELAY_A2A_MAX_WAITS,
      maxWaitsPerAgent: v.AGENT_COMM_RELAY_MAX_WAITS,
      maxEventLoopDelayMs: v.AGENT_COMM_RELAY_MAX_EVENT_LOOP_DELAY,
      maxEventLoopUtilization: v.AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: v.AGENT_COMM_RELAY_MAX_HEAP_USED,
      maxRssBytes: v.AGENT_COMM_RELAY_MAX_RSS,
      retentionDays: v.AGENT_COMM_RELAY_RETENTION_DAYS,
      logLevel: v.AGENT_COMM_RELAY_LOG_LEVEL,
    },
  }
}

/** The config with every default, for callers (the CLI, tests) that set only a few fields. */
export function relayConfig(fields: Partial<RelayConfig> & { dataDir: string }): RelayConfig {
  return {
    port: D.port,
    host: D.host,
    authWindowSeconds: D.authWindowSeconds,
    bodyLimitBytes: D.bodyLimitBytes,
    requestTimeoutSeconds: D.requestTimeoutMs / 1000,
    rateLimitPerMinute: D.rateLimitPerMinute,
    maxRecipientsPerMessage: D.maxRecipientsPerMessage,
    maxDeliveriesPerRequest: D.maxDeliveriesPerRequest,
    authFailuresPerMinute: D.authFailuresPerMinute,
    trustProxy: false,
    requireAudience: false,
    retentionDays: D.retentionDays,
    adminId: D.adminId,
    leaseSeconds: D.leaseSeconds,
    a2aMaxWaitsPerCaller: D.a2aMaxWaitsPerCaller,
    maxWaitsPerAgent: D.maxWaitsPerAgent,
    maxEventLoopDelayMs: D.maxEventLoopDelayMs,
    maxEventLoopUtilization: D.maxEventLoopUtilization,
    maxRssBytes: D.maxRssBytes,
    logLevel: D.logLevel,
    ...fields,
    dataDir: resolve(fields.dataDir),
  }
}
