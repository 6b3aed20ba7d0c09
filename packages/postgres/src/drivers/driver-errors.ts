import { StorageError } from '@agent-comm/protocol'

/** Why a driver call failed, as `StorageError.details.reason`. */
export type StorageFailureReason =
  | 'unreachable'
  | 'connection-lost'
  | 'auth-failed'
  | 'database-missing'
  | 'query-failed'

/** The URL with its password replaced by `***`, safe to print or log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    // Not a URL the WHATWG parser accepts: blank anything between "//user:" and "@".
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@')
  }
}

// Node socket errors meaning "nobody answered there".
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
])
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
  const message = error instanceof Error ? error.message : String(error)
  const sqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  if (sqlState !== undefined) {
    // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now; class 08: connection exceptions.
    if (sqlState === '57P01' || sqlState === '57P02' || sqlState.startsWith('08')) {
      return { reason: 'connection-lost', sqlState }
    }
    if (sqlState === '57P03' || sqlState.startsWith('53')) return { reason: 'unreachable', sqlState }
    if (sqlState === '28P01' || sqlState === '28000') return { reason: 'auth-failed', sqlState }
    if (sqlState === '3D000') return { reason: 'database-missing', sqlState }
    return { reason: 'query-failed', sqlState }
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return { reason: 'unreachable' }
  if (code !== undefined && LOST_CODES.has(code)) return { reason: 'connection-lost' }
  if (/timeout exceeded when trying to connect|connect ECONNREFUSED/i.test(message))
    return { reason: 'unreachable' }
  if (
    /connection terminated|terminating connection|connection ended|not queryable|ended unexpectedly/i.test(
      message,
    )
  ) {
    return { reason: 'connection-lost' }
  }
  return { reason: 'query-failed' }
}

const HINTS: Record<StorageFailureReason, (where: string) => string> = {
  unreachable: (where) => `Check that PostgreSQL is running and accepts connections at ${where}.`,
  'connection-lost': (where) =>
    `The connection to ${where} was closed by the server or the network; the next call reconnects. Retry it.`,
  'auth-failed': (where) => `Check the user name and password in the connection URL (${where}).`,
  'database-missing': (where) => `Create the database named in ${where}, or fix the URL.`,
  'query-failed': () => 'The statement was rejected by PostgreSQL: see details.sqlState and the message.',
}

/**
 * Maps a driver error to a {@link StorageError} whose `details.reason` says what kind of failure it was and
 * whose hint names the server by its URL without the password. A `StorageError` passes through unchanged.
 * The message is the driver's own text with any occurrence of the password blanked out.
 */
export function toStorageError(error: unknown, url: string, doing: string): StorageError {
  if (error instanceof StorageError) return error
  const { reason, sqlState } = classify(error)
  const where = redactUrl(url)
  let text = error instanceof Error ? error.message : String(error)
  const password = passwordOf(url)
  if (password !== '') text = text.split(password).join('***')
  return new StorageError(`PostgreSQL ${doing} failed: ${text}`, {
    hint: HINTS[reason](where),
    details: { reason, server: where, ...(sqlState === undefined ? {} : { sqlState }) },
    cause: sanitizedCause(error, password),
  })
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password)
  } catch {
    return /\/\/[^:/@]*:([^@]*)@/.exec(url)?.[1] ?? ''
  }
}

// The cause is kept for debugging, but as a plain Error copy: a driver error object can hold references
// (a client, its connection parameters) that util.inspect would print along with the password.
function sanitizedCause(error: unknown, password: string): Error {
  const scrub = (s: string) => (password === '' ? s : s.split(password).join('***'))
  if (!(error instanceof Error)) return new Error(scrub(String(error)))
  const copy = new Error(scrub(error.message))
  copy.name = error.name
  const code = stringField(error, 'code')
  if (code !== undefined) Object.assign(copy, { code })
  if (error.stack !== undefined) copy.stack = scrub(error.stack)
  return copy
}
