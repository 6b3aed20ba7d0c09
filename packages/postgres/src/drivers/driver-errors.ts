// The zod-free subpaths of the protocol: the inbox hook loads this file on every prompt of an assistant.
import { AgentCommError, ConfigError, errorMessage, StorageError } from '@agent-comm/protocol/errors'
import { redactUrl, urlSecrets } from '@agent-comm/protocol/redact-url'

/** Why a PostgreSQL operation failed, as `StorageError.details.reason`. */
export type StorageFailureReason =
  | 'unreachable'
  | 'too-many-connections'
  | 'pool-exhausted'
  | 'connection-lost'
  | 'timeout'
  | 'auth-failed'
  | 'role-missing'
  | 'database-missing'
  | 'permission-denied'
  | 'read-only'
  | 'full'
  | 'conflict'
  | 'ssl-failed'
  | 'pooler'
  | 'query-failed'

// The URL without its password, safe to print, log or show as a store's `location`: the protocol's one
// redaction rule, re-exported as this package's public `redactUrl`.
export { redactUrl }

/** The `ConfigError` for a URL the driver cannot parse (`cause`: its parser's error, `ERR_INVALID_URL`). */
export function malformedUrl(url: string, cause?: unknown): ConfigError {
  const reason = cause instanceof Error ? `: ${scrub(cause.message, urlSecrets(url))}` : ''
  return new ConfigError(`Malformed PostgreSQL URL ${redactUrl(url)}${reason}`, {
    hint: 'Write it as postgres://user:password@host:5432/database: the port a number from 1 to 65535, an IPv6 host in brackets ([::1]), and @ : / # ? in the user name or password percent-encoded (encodeURIComponent).',
  })
}

// Node socket errors meaning "nobody answered there".
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOENT', // a Unix socket path with no server behind it
])
// TLS failures: the server has no SSL (node-postgres's own messages) or its certificate is not trusted
// (Node's codes for a certificate it cannot verify).
const SSL_MESSAGE = /does not support SSL connections|error establishing an SSL connection/i
const SSL_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])
// node-postgres's SCRAM exchange when the URL carries no password (or an empty one) and the server asks.
const NO_PASSWORD_MESSAGE = /client password must be a (non-empty )?string/i
// Node socket errors meaning "a connection we had went away".
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

function stringField(error: unknown, field: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const value = (error as Record<string, unknown>)[field]
  return typeof value === 'string' ? value : undefined
}

/**
 * The SQLSTATE of a failed statement (`23505` for a unique violation…), read from a {@link StorageError}
 * a driver adapter threw or from a raw driver error; undefined when there is none.
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (error instanceof StorageError) {
    const state = error.details.sqlState
    return typeof state === 'string' ? state : undefined
  }
  const code = stringField(error, 'code')
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

function classify(error: unknown): { reason: StorageFailureReason; sqlState?: string } {
  const code = stringField(error, 'code') ?? stringField(error, 'errno')
  const message = errorMessage(error)
  const sqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  if (sqlState !== undefined) {
    // 57P01 admin shutdown, 57P02 crash shutdown, 57P05 idle_session_timeout, 25P03
    // idle_in_transaction_session_timeout (the server ended the session; a transaction it was in was rolled
    // back); class 08: connection exceptions.
    if (
      sqlState === '57P01' ||
      sqlState === '57P02' ||
      sqlState === '57P05' ||
      sqlState === '25P03' ||
      sqlState.startsWith('08')
    ) {
      return { reason: 'connection-lost', sqlState }
    }
    // 53100 disk full, 53200 out of memory; the rest of class 53 (53300 too many connections) and 57P03
    // (starting up) mean the server cannot take us now.
    if (sqlState === '53100' || sqlState === '53200') return { reason: 'full', sqlState }
    // 53300 too many connections (the server's max_connections or the role's CONNECTION LIMIT).
    if (sqlState === '53300') return { reason: 'too-many-connections', sqlState }
    if (sqlState === '57P03' || sqlState.startsWith('53')) return { reason: 'unreachable', sqlState }
    // 55000 for a database that does not take connections now (ALLOW_CONNECTIONS false, during maintenance).
    if (sqlState === '55000' && /not currently accepting connections/i.test(message)) {
      return { reason: 'unreachable', sqlState }
    }
    // 28000 is also what a role that does not exist gets (under trust authentication as well).
    if (sqlState === '28000' && /role .* does not exist/i.test(message))
      return { reason: 'role-missing', sqlState }
    if (sqlState === '28P01' || sqlState === '28000') return { reason: 'auth-failed', sqlState }
    if (sqlState === '3D000') return { reason: 'database-missing', sqlState }
    if (sqlState === '42501') return { reason: 'permission-denied', sqlState }
    // 25006 read-only transaction (a standby, default_transaction_read_only).
    if (sqlState === '25006') return { reason: 'read-only', sqlState }
    // 40P01 deadlock detected, 40001 serialization failure: transient, the transaction was rolled back.
    if (sqlState === '40P01' || sqlState === '40001') return { reason: 'conflict', sqlState }
    // 55P03 lock_not_available (lock_timeout), 57014 query_canceled (statement_timeout): another session
    // held what the statement needed for too long; the statement was rolled back.
    if (sqlState === '55P03' || sqlState === '57014') return { reason: 'timeout', sqlState }
    // 42P05 duplicate_prepared_statement, 26000 invalid_sql_statement_name: the connection this client
    // prepared a statement on is not the one that runs it — a pooler in transaction mode between them.
    if (sqlState === '42P05' || sqlState === '26000') return { reason: 'pooler', sqlState }
    return { reason: 'query-failed', sqlState }
  }
  if (NO_PASSWORD_MESSAGE.test(message)) return { reason: 'auth-failed' }
  if ((code !== undefined && SSL_CODES.has(code)) || SSL_MESSAGE.test(message))
    return { reason: 'ssl-failed' }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return { reason: 'unreachable' }
  if (code !== undefined && LOST_CODES.has(code)) return { reason: 'connection-lost' }
  // pg-pool's words when every connection of the pool stayed busy for its connectionTimeoutMillis: nothing
  // was sent to the server.
  if (POOL_EXHAUSTED_MESSAGE.test(message)) return { reason: 'pool-exhausted' }
  // A connection attempt the server did not answer in time (pg-pool's and pg's own words): nothing was sent.
  if (/connection terminated due to connection timeout|^timeout expired$|connect ECONNREFUSED/i.test(message))
    return { reason: 'unreachable' }
  // The server did not answer a statement within the client's query_timeout: the connection is dropped,
  // and whether the statement ran is unknown, as for a connection lost before its answer.
  if (NO_ANSWER_MESSAGE.test(message)) return { reason: 'connection-lost' }
  if (
    /connection terminated|terminating connection|connection ended|not queryable|ended unexpectedly/i.test(
      message,
    )
  ) {
    return { reason: 'connection-lost' }
  }
  return { reason: 'query-failed' }
}

/**
 * Failures after which the same call may succeed unchanged: the server cannot take us now, dropped the
 * connection, is out of space, or rolled the statement back for a collision or a timeout.
 */
const TRANSIENT = new Set<StorageFailureReason>([
  'unreachable',
  'too-many-connections',
  'pool-exhausted',
  // A standby, or a primary being demoted: after a failover the next connection reaches the new primary.
  'read-only',
  'connection-lost',
  'timeout',
  'full',
  'conflict',
])

const HINTS: Record<StorageFailureReason, (where: string) => string> = {
  unreachable: (where) => `Check that PostgreSQL is running and accepts connections at ${where}.`,
  'too-many-connections': (where) =>
    `${where} has no connection left for this user: retry in a moment; if it keeps happening, run fewer agent-comm processes at once, lower AGENT_COMM_PG_POOL_SIZE, or raise the role's CONNECTION LIMIT or the server's max_connections.`,
  'pool-exhausted': (where) =>
    `Every connection of this process's pool to ${where} stayed busy until the wait for one timed out; nothing was sent. Retry in a moment. If it keeps happening, this process runs more operations at once than its pool holds: raise the pool size (AGENT_COMM_PG_POOL_SIZE, the poolSize option; the server's max_connections must allow it for every process), or put a pooler (PgBouncer, with prepare=false in the URL) in front of the server. Statements that the server answers slowly, or not at all, hold connections too: look at pg_stat_activity.`,
  timeout: () =>
    'PostgreSQL cancelled the statement after its lock_timeout or statement_timeout: another session held a lock it needed, or the timeout set for this user or database is shorter than the statement (SHOW statement_timeout; agent-comm needs a few seconds when it opens and migrates a database). Nothing of it was applied; retry it, and if it keeps happening look for a long transaction (pg_stat_activity) or raise the timeout.',
  'connection-lost': (where) =>
    `The connection to ${where} was closed by the server or the network; the next call reconnects. Retry it (a send may have been stored before the answer was lost: send with an idempotency key, or the same message id, so a retry cannot store it twice).`,
  'auth-failed': (where) =>
    `Check the user name and password in the connection URL (${where}): the server asks for a password, so the URL must carry one (postgres://user:password@host/database).`,
  'role-missing': (where) =>
    `The user named in ${where} does not exist on that server: fix the user name in the URL, or create the role (CREATE ROLE … LOGIN).`,
  'database-missing': (where) => `Create the database named in ${where}, or fix the URL.`,
  'permission-denied': (where) =>
    `The user of ${where} lacks a right the spool needs: grant it USAGE and CREATE on the spool's schema and rights on its tables, or connect as their owner. A user that may not create schemas in the database needs the schema made for it first (CREATE SCHEMA agent_comm AUTHORIZATION <user>, or the name set by AGENT_COMM_PG_SCHEMA).`,
  'read-only': (where) =>
    `${where} refused a write: it is a standby (during a failover, until the address points at the new primary: retry, the next call opens a new connection), or the user or database is read-only (default_transaction_read_only): connect to the primary or grant write access.`,
  full: (where) =>
    `${where} is out of disk space or memory: free space on the server, or remove old messages (agent-comm cleanup).`,
  conflict: () =>
    'PostgreSQL rolled the operation back because it collided with another one (a deadlock or serialization failure); nothing of it was applied. Retry it.',
  'ssl-failed': (where) =>
    `The SSL/TLS connection to ${where} failed: if the server does not use SSL, drop sslmode from the URL (or set sslmode=disable); if its certificate is not trusted, point sslrootcert=<file> at the CA that signed it.`,
  pooler: (where) =>
    `A connection pooler in transaction mode (PgBouncer, Supavisor, RDS Proxy…) stands between agent-comm and PostgreSQL at ${where} and cannot keep prepared statements: add prepare=false to the URL (postgres://user@host:6432/db?prepare=false). Nothing of the statement was applied.`,
  'query-failed': () =>
    'PostgreSQL rejected the statement for the reason in the message; its SQLSTATE code is explained in the PostgreSQL manual (appendix "PostgreSQL Error Codes").',
}

/**
 * Maps a driver error to a {@link StorageError} whose `details.reason` says what kind of failure it was and
 * whose hint names the server by its URL without the password (a URL the driver cannot parse is a
 * `ConfigError` instead). An `AgentCommError` (a `StorageError` an
 * adapter already mapped) passes through unchanged. The message is the driver's own text with any
 * occurrence of the password blanked out; `doing` names the operation (`query`, `connect`, `LISTEN`…).
 */
export function toStorageError(error: unknown, url: string, doing = 'statement'): AgentCommError {
  if (error instanceof AgentCommError) return error
  // The driver could not even parse the URL: a configuration mistake, not a storage failure.
  if (stringField(error, 'code') === 'ERR_INVALID_URL') return malformedUrl(url, error)
  const { reason, sqlState } = classify(error)
  const where = redactUrl(url)
  let text = errorMessage(error)
  const secrets = urlSecrets(url)
  text = scrub(text, secrets)
  // The SQLSTATE of a rejected statement is in the message itself: details are not shown everywhere.
  const state = reason === 'query-failed' && sqlState !== undefined ? ` (SQLSTATE ${sqlState})` : ''
  // A pool connects on its first query: a failed connection says so, whatever the call was doing.
  const message = CONNECTING.has(reason)
    ? `Could not connect to PostgreSQL at ${endpointOf(where)} (${where}): ${connectFailure(error, text)}`
    : `PostgreSQL ${doing} failed at ${where}: ${text}${state}`
  return new StorageError(message, {
    hint: lookupHint(error, where) ?? HINTS[reason](where),
    // Absent rather than undefined: details are printed as they are (--json, logs).
    details: { reason, server: where, ...(sqlState === undefined ? {} : { sqlState }) },
    transient: TRANSIENT.has(reason),
    cause: sanitizedCause(error, secrets),
  })
}

/**
 * Node-postgres's words when the server did not answer a statement within `query_timeout`, and ours
 * (node-postgres.ts rewrites its message to name the wait).
 */
export const NO_ANSWER_MESSAGE = /^Query read timeout$|^no answer from PostgreSQL within/i
const POOL_EXHAUSTED_MESSAGE = /timeout exceeded when trying to connect/i

/**
 * Failures of opening a connection (the server is not there, refused the user or the database, has no
 * connection left, or the TLS handshake failed), worded "Could not connect to PostgreSQL at host:port".
 */
const CONNECTING = new Set<StorageFailureReason>([
  'unreachable',
  'auth-failed',
  'role-missing',
  'database-missing',
  'too-many-connections',
  'ssl-failed',
])

/** What a socket error code means, in words, for the "could not connect" message. */
const SOCKET_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused, nothing listens there',
  ENOENT: 'no server socket there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be looked up now',
  ETIMEDOUT: 'the connection attempt timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
}

/** Why the connection failed: the server's own words, or a socket error's code in words with its text. */
function connectFailure(error: unknown, text: string): string {
  const words = SOCKET_WORDS[stringField(error, 'code') ?? '']
  return words === undefined ? text : `${words} (${text})`
}

/**
 * Where a connection URL points, as a user checks it: `host:port` (`[::1]:5432`), or a Unix socket's path
 * (`/var/run/postgresql/.s.PGSQL.5432`); `host` and `port` query parameters win, as the driver reads them.
 * The URL itself when it is not one.
 */
function endpointOf(url: string): string {
  // `postgres://user@/db?host=/socket` (a user and no host) is a URL to the driver, not to WHATWG.
  const parsed = parseUrl(url) ?? parseUrl(url.replace(/@(?=[/?#]|$)/, '@localhost'))
  if (parsed === undefined) return url
  const host = parsed.searchParams.get('host') || decodeURIComponent(parsed.hostname) || 'localhost'
  const port = parsed.searchParams.get('port') || parsed.port || '5432'
  return host.startsWith('/') ? `${host.replace(/\/$/, '')}/.s.PGSQL.${port}` : `${host}:${port}`
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/**
 * For a host name that did not resolve, the hint about the name: "is PostgreSQL running" would send the user
 * to a server that was never asked. Undefined for every other failure.
 */
function lookupHint(error: unknown, where: string): string | undefined {
  const code = stringField(error, 'code')
  if (code === 'ENOTFOUND') {
    return `The host name in ${where} does not resolve: check its spelling in the URL (and the machine's DNS or /etc/hosts).`
  }
  if (code === 'EAI_AGAIN') {
    return `The host name in ${where} could not be looked up now: check the network (DNS), then retry.`
  }
  // Out of memory (53200) and program limits (54000: a value or statement past one of PostgreSQL's size
  // limits) are about the statement's size as often as the server's state: say so.
  if (code === '53200') {
    return `${where} ran out of memory for the statement: nothing of it was applied. If it carried a large batch or a very large message, send fewer or smaller ones; otherwise retry once the server's load is lower (work_mem, the server's memory).`
  }
  if (code === '54000') {
    return `The statement went past one of PostgreSQL's size limits at ${where} (a value, an index entry, or too many parameters): nothing of it was applied. Send fewer messages per batch, or a smaller message (a large payload belongs in a file or object store, referenced by the message).`
  }
  const message = error instanceof Error ? error.message : ''
  if (NO_ANSWER_MESSAGE.test(message)) {
    return `${where} stopped answering (a network partition, a host that vanished, a server that hangs): the connection was dropped and the next call opens a new one. Retry once the server answers (a send may have been stored before the answer was lost: send with an idempotency key, or the same message id). A statement that legitimately runs longer needs a longer query_timeout=<ms> in the URL.`
  }
  return undefined
}

/** `text` with each of `secrets` (a URL's password, as written and decoded) blanked out. */
function scrub(text: string, secrets: readonly string[]): string {
  // Longest first, so a secret that contains another is blanked whole.
  return [...secrets]
    .sort((a, b) => b.length - a.length)
    .reduce((t, secret) => t.split(secret).join('***'), text)
}

// The cause is kept for debugging, but as a plain Error copy: a driver error object can hold references
// (a client, its connection parameters) that util.inspect would print along with the password.
function sanitizedCause(error: unknown, secrets: readonly string[]): Error {
  if (!(error instanceof Error)) return new Error(scrub(String(error), secrets))
  const copy = new Error(scrub(error.message, secrets))
  copy.name = error.name
  const code = stringField(error, 'code')
  if (code !== undefined) Object.assign(copy, { code })
  if (error.stack !== undefined) copy.stack = scrub(error.stack, secrets)
  return copy
}

/**
 * Runs one storage call (a statement, a transaction) and maps what the driver throws with
 * {@link toStorageError}, so a store's methods reject with a `StorageError` naming `location` (an
 * `AgentCommError` the call threw passes through unchanged).
 */
export async function withStorageErrors<T>(location: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw toStorageError(error, location)
  }
}
