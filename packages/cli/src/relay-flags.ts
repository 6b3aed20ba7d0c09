import { RELAY_DEFAULTS as D } from '@agent-comm/relay/defaults'
import { Flags } from '@oclif/core'
import type { RelaySecretsTarget } from './context.js'

// Flags shared by the `relay` commands. The relay's settings are validated by @agent-comm/relay's own
// `loadRelayConfig` (so `relay start` and `agent-comm-relay` accept exactly the same values); here they
// are plain strings, documented for --help.

/** `--data-dir`: where the relay keeps relay.db and secrets.json. */
export const dataDirFlag = Flags.string({
  description:
    'relay data folder: relay.db and secrets.json. Precedence: this flag, then AGENT_COMM_RELAY_DATA_DIR, then ./data/relay (relative to the current folder)',
  helpValue: '<dir>',
})

/** `--db`: run on (or manage the secrets of) a relay on PostgreSQL instead of the data folder. */
export const relayDbFlag = Flags.string({
  description:
    "postgres:// URL of the relay's database, shared by its replicas; instead of the data folder [AGENT_COMM_RELAY_DATABASE_URL]",
  helpValue: '<url>',
})

/** `--db-schema`: the PostgreSQL schema of the relay's tables. */
export const relayDbSchemaFlag = Flags.string({
  description: 'PostgreSQL only: schema holding the tables [AGENT_COMM_RELAY_PG_SCHEMA, default agent_comm]',
  helpValue: '<schema>',
})

/** `--secrets-key-file`: the key agents' secrets are sealed under in PostgreSQL. */
export const secretsKeyFileFlag = Flags.string({
  description:
    "PostgreSQL only: file holding the key agents' secrets are encrypted under (32 bytes, base64); or set AGENT_COMM_RELAY_SECRETS_KEY [AGENT_COMM_RELAY_SECRETS_KEY_FILE]",
  helpValue: '<file>',
})

/** The flags naming a relay's storage: its data folder, or its PostgreSQL database and schema. */
export const relayStorageFlags = {
  'data-dir': dataDirFlag,
  db: relayDbFlag,
  'db-schema': relayDbSchemaFlag,
}

/** The flags naming where a relay's secrets are, for `gen-secret`, `list-secrets`, `revoke-secret`. */
export const relaySecretsFlags = {
  ...relayStorageFlags,
  'secrets-key-file': secretsKeyFileFlag,
}

/** Where {@link relaySecretsFlags} say the relay's stores are, as `openSecretStore` and the key commands take it. */
export function relaySecretsTarget(flags: {
  'data-dir'?: string | undefined
  db?: string | undefined
  'db-schema'?: string | undefined
  'secrets-key-file'?: string | undefined
}): RelaySecretsTarget {
  return {
    dataDir: flags['data-dir'],
    db: flags.db,
    dbSchema: flags['db-schema'],
    secretsKeyFile: flags['secrets-key-file'],
  }
}

/** The flags `relay start` passes on to the relay, each with the variable it overrides. */
export const relayServerFlags = {
  port: Flags.string({
    description: `TCP port; 0 picks a free one [AGENT_COMM_RELAY_PORT, default ${D.port}]`,
    helpValue: '<port>',
  }),
  host: Flags.string({
    description: `address to listen on; 0.0.0.0 serves other machines (put TLS in front) [AGENT_COMM_RELAY_HOST, default ${D.host}]`,
    helpValue: '<address>',
  }),
  'data-dir': dataDirFlag,
  db: relayDbFlag,
  'db-schema': relayDbSchemaFlag,
  'pool-size': Flags.string({
    description: `PostgreSQL only: most connections per replica [AGENT_COMM_RELAY_PG_POOL_SIZE, default ${D.poolSize}]`,
    helpValue: '<connections>',
  }),
  // On SQLite too: there the key seals the A2A push-signing key in relay.db (else <data-dir>/secrets.key).
  'secrets-key-file': Flags.string({
    description:
      "file holding the relay's secrets key (32 bytes, base64), or set AGENT_COMM_RELAY_SECRETS_KEY: on PostgreSQL it encrypts agents' secrets and the A2A push-signing key (required); on SQLite the A2A push-signing key (default <data-dir>/secrets.key, made on first start) [AGENT_COMM_RELAY_SECRETS_KEY_FILE]",
    helpValue: '<file>',
  }),
  'auth-window': Flags.string({
    description: `accepted distance between a request's timestamp and the relay's clock [AGENT_COMM_RELAY_AUTH_WINDOW_SECONDS, default ${D.authWindowSeconds}]`,
    helpValue: '<seconds>',
  }),
  'body-limit': Flags.string({
    description: `largest request body [AGENT_COMM_RELAY_BODY_LIMIT, default ${D.bodyLimitBytes}]`,
    helpValue: '<bytes>',
  }),
  'request-timeout': Flags.string({
    description: `longest time a client may take to send a whole request before a 408 (long polls and streams are not cut) [AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS, default ${D.requestTimeoutMs / 1000}]`,
    helpValue: '<seconds>',
  }),
  'rate-limit': Flags.string({
    description: `work units per agent per minute (a request is one, a send one per delivery), 0 for no limit [AGENT_COMM_RELAY_RATE_LIMIT, default ${D.rateLimitPerMinute}]`,
    helpValue: '<units>',
  }),
  'max-recipients': Flags.string({
    description: `most distinct recipients of one message, given or resolved from * / capability: [AGENT_COMM_RELAY_MAX_RECIPIENTS, default ${D.maxRecipientsPerMessage}]`,
    helpValue: '<recipients>',
  }),
  'max-deliveries': Flags.string({
    description: `most deliveries one send request may create (413 beyond) [AGENT_COMM_RELAY_MAX_DELIVERIES, default ${D.maxDeliveriesPerRequest}]`,
    helpValue: '<deliveries>',
  }),
  'auth-failure-limit': Flags.string({
    description: `failed authentications per client address per minute before it is refused (429), 0 for no limit [AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT, default ${D.authFailuresPerMinute}]`,
    helpValue: '<requests>',
  }),
  'trust-proxy': Flags.string({
    description:
      "behind a reverse proxy: true (any proxy), or the proxies' addresses/CIDRs comma-separated, so client addresses come from X-Forwarded-For [AGENT_COMM_RELAY_TRUST_PROXY, default false]",
    helpValue: '<proxies>',
  }),
  'public-url': Flags.string({
    description:
      "the relay's URL as clients reach it, e.g. https://relay.example.com: the A2A agent cards name it, whatever Host or X-Forwarded-Host a request gives [AGENT_COMM_RELAY_PUBLIC_URL, default none: from each request]",
    helpValue: '<url>',
  }),
  audience: Flags.string({
    description:
      "this relay's name in version 2 signatures, the same on every replica; clients sign for it [AGENT_COMM_RELAY_AUDIENCE, default none]",
    helpValue: '<name>',
  }),
  'require-audience': Flags.string({
    description:
      'true: refuse version 1 signatures, which are not bound to a relay (needs --audience) [AGENT_COMM_RELAY_REQUIRE_AUDIENCE, default false]',
    helpValue: '<true|false>',
  }),
  'admin-id': Flags.string({
    description: `the operator's agent id [AGENT_COMM_RELAY_ADMIN_ID, default ${D.adminId}]`,
    helpValue: '<agent>',
  }),
  'lease-seconds': Flags.string({
    description: `lease of claims that name none [AGENT_COMM_RELAY_LEASE_SECONDS, default ${D.leaseSeconds}]`,
    helpValue: '<seconds>',
  }),
  'log-level': Flags.string({
    description: `debug, info, warn, error or silent; JSON log lines go to stderr [AGENT_COMM_RELAY_LOG_LEVEL, default ${D.logLevel}]`,
    helpValue: '<level>',
  }),
  'a2a-push-allow': Flags.string({
    description:
      'A2A push webhooks allowed on internal addresses: a CIDR range, IP address or host name (repeatable, or comma-separated), or * for every address [AGENT_COMM_RELAY_A2A_PUSH_ALLOW, default none: public addresses only]',
    helpValue: '<CIDR|host>',
    multiple: true,
  }),
  'a2a-max-waits': Flags.string({
    description: `requests one A2A caller may have waiting on tasks at once per replica (SendMessage without returnImmediately, SendStreamingMessage, SubscribeToTask), 0 for no limit [AGENT_COMM_RELAY_A2A_MAX_WAITS, default ${D.a2aMaxWaitsPerCaller}]`,
    helpValue: '<n>',
  }),
  'max-waits': Flags.string({
    description: `long polls (claims and reply claims with a wait, waits) and event streams one agent may hold open at once per replica; one more gets 429 before anything is claimed; 0 for no limit [AGENT_COMM_RELAY_MAX_WAITS, default ${D.maxWaitsPerAgent}]`,
    helpValue: '<n>',
  }),
  'max-event-loop-delay': Flags.string({
    description: `overload: shed new requests (503 with Retry-After) while the event loop's mean delay is above this many ms; 0 for never [AGENT_COMM_RELAY_MAX_EVENT_LOOP_DELAY, default ${D.maxEventLoopDelayMs}]`,
    helpValue: '<ms>',
  }),
  'max-event-loop-utilization': Flags.string({
    description: `overload: shed new requests while event-loop utilization is above this fraction (e.g. 0.98); 0 for never [AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION, default ${D.maxEventLoopUtilization}: never]`,
    helpValue: '<fraction>',
  }),
  'max-heap-used': Flags.string({
    description: `overload: shed new requests while the V8 heap used is above this many bytes; 0 for never [AGENT_COMM_RELAY_MAX_HEAP_USED, default ${D.maxHeapUsedShare * 100}% of V8's heap limit]`,
    helpValue: '<bytes>',
  }),
  'max-rss': Flags.string({
    description: `overload: shed new requests while the resident memory is above this many bytes (e.g. 80% of the container's memory limit); 0 for never [AGENT_COMM_RELAY_MAX_RSS, default ${D.maxRssBytes}: never]`,
    helpValue: '<bytes>',
  }),
  'retention-days': Flags.string({
    description: `days acked and expired messages (dead letters among them) are kept before the relay's hourly cleanup removes them, 0 to keep everything [AGENT_COMM_RELAY_RETENTION_DAYS, default ${D.retentionDays}]`,
    helpValue: '<days>',
  }),
}

/** The relay's own command line for the flags given (those not given come from its variables). */
export function relayArgv(
  flags: Partial<Record<keyof typeof relayServerFlags, string | readonly string[]>>,
): string[] {
  return Object.keys(relayServerFlags).flatMap((name) => {
    const value = flags[name as keyof typeof relayServerFlags]
    if (value === undefined) return []
    return typeof value === 'string' ? [`--${name}`, value] : value.flatMap((v) => [`--${name}`, v])
  })
}
