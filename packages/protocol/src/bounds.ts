// The protocol's defaults and bounds, free of zod so that a command-line tool can print them in
// its flags' help and check them while parsing without loading a schema library
// (`@agent-comm/protocol/bounds`). The schemas of `operation-options.ts` and `routing.ts` are built from
// these; every package imports them from here rather than writing the number again.

/** Lease of a claim that names none, in seconds. */
export const DEFAULT_LEASE_SECONDS = 60

/**
 * Shortest lease, in seconds: 1 ms. Leases are kept to the millisecond: a shorter one would be over before
 * it began, so its message could never be acked and each claim would spend an attempt.
 */
export const MIN_LEASE_SECONDS = 0.001

/** Longest lease, in seconds: 7 days. */
export const MAX_LEASE_SECONDS = 7 * 86_400

/** Longest delivery delay, in seconds: a year. */
export const MAX_DELAY_SECONDS = 365 * 86_400

/** Longest reason a nack keeps with its delivery, in characters: 64 KiB. */
export const MAX_NACK_REASON_LENGTH = 64 * 1024

/** Delivery attempts before a delivery is dead-lettered, when a send names none. */
export const DEFAULT_MAX_ATTEMPTS = 3

/** Most delivery attempts a send can ask for. */
export const MAX_DELIVERY_ATTEMPTS = 1000

/** Messages one claim takes when it names no limit. */
export const DEFAULT_CLAIM_LIMIT = 10

/** Most messages one claim takes. */
export const MAX_CLAIM_LIMIT = 1000

/** Rows a listing (search, pending, conversations, failed deliveries) returns when it names no limit. */
export const DEFAULT_LIST_LIMIT = 50

/** Most rows one listing returns. */
export const MAX_LIST_LIMIT = 1000

/** Time-to-live of a message that names none, in hours. */
export const DEFAULT_TTL_HOURS = 24

/** Longest time-to-live of a message, in hours: ten years. */
export const MAX_TTL_HOURS = 24 * 365 * 10

/** Longest wait of one poll for a first message, in ms: an hour. */
export const MAX_POLL_WAIT_MS = 3_600_000

/** The longest delay Node's timers hold, in ms (2^31-1): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** How long a request waits for its reply when it names no time limit, in ms. */
export const DEFAULT_REPLY_TIMEOUT_MS = 60_000

/** How far a signed request's timestamp may be from the relay's clock, either way, by default: five minutes. */
export const DEFAULT_AUTH_WINDOW_MS = 5 * 60_000

/** Longest grace period of a relay secret's rotation, in seconds (the old secret keeps working): a year. */
export const MAX_ROTATION_GRACE_SECONDS = 365 * 86_400

/** Connections of a PostgreSQL pool that names no size. */
export const DEFAULT_POOL_SIZE = 10

/** Most connections of one PostgreSQL pool. */
export const MAX_POOL_SIZE = 1000

/** Highest TCP port a server may be told to listen on (0, the lowest, lets the system pick a free one). */
export const MAX_PORT = 65_535

/**
 * The operator's agent id by default: who signs in to `agent-comm console` without `--as`, and a relay's
 * admin unless `--admin-id` names another. The operator may decide any approval request in the console, so
 * a waiting `request` takes its decision as it takes a recipient's (see `APPROVAL_DECIDERS`).
 */
export const DEFAULT_OPERATOR_ID = 'admin'
