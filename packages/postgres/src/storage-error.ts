import { AgentCommError, StorageError } from '@agent-comm/protocol'

/** Why a PostgreSQL operation failed, as `StorageError.details.reason`. */
export type PostgresFailure =
  | 'unreachable'
  | 'connection-lost'
  | 'auth-failed'
  | 'database-missing'
  | 'permission-denied'
  | 'read-only'
  | 'full'
  | 'query-failed'

/** The URL with its password (and any password query parameter) removed: safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = ''
    for (const key of [...parsed.searchParams.keys()])
      if (/pass/i.test(key)) parsed.searchParams.set(key, 'redacted')
    return parsed.toString()
  } catch {
    // Not a URL we can parse: show nothing of it rather than risk a password.
    return 'the configured PostgreSQL server'
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'ENOENT',
])
const LOST = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE'])

/** The driver-level code of an error: a Node system error code, a postgres.js code, or an SQLSTATE. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/** True when the error comes from the database or its connection (not from the caller's own code). */
export function isDriverError(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof AgentCommError) return false
  const code = errorCode(error)
  if (code === undefined) return false
  return (
    error.name === 'PostgresError' ||
    error.constructor.name === 'DatabaseError' ||
    UNREACHABLE.has(code) ||
    LOST.has(code) ||
    /^[0-9A-Z]{5}$/.test(code)
  )
}

function classify(code: string | undefined): PostgresFailure {
  if (code === undefined) return 'query-failed'
  if (UNREACHABLE.has(code)) return 'unreachable'
  if (LOST.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')
    return 'connection-lost'
  if (code === '28P01' || code === '28000') return 'auth-failed'
  if (code === '3D000') return 'database-missing'
  if (code === '42501') return 'permission-denied'
  if (code === '25006') return 'read-only'
  if (code === '53100' || code === '53200') return 'full'
  return 'query-failed'
}

/**
 * Maps a driver error to a `StorageError` naming the server (never its password), with `details.reason`
 * and a hint saying what to check. An `AgentCommError` passes through unchanged.
 */
export function toStorageError(error: unknown, url: string): AgentCommError {
  if (error instanceof AgentCommError) return error
  const where = redactUrl(url)
  const code = errorCode(error)
  const reason = classify(code)
  const text = error instanceof Error ? error.message : String(error)
  const messages: Record<PostgresFailure, [string, string]> = {
    unreachable: [
      `Cannot reach PostgreSQL at ${where}: ${text}`,
      `Is PostgreSQL running at ${where}? Check the host, port and network.`,
    ],
    'connection-lost': [
      `The connection to PostgreSQL at ${where} was lost: ${text}`,
      `Is PostgreSQL running at ${where}? The operation may not have been applied; retry it.`,
    ],
    'auth-failed': [
      `PostgreSQL at ${where} refused the login: ${text}`,
      'Check the user name and password in the connection URL.',
    ],
    'database-missing': [
      `PostgreSQL at ${where} has no such database: ${text}`,
      'Create the database first (CREATE DATABASE …) or fix its name in the URL.',
    ],
    'permission-denied': [
      `PostgreSQL at ${where} denied this user access: ${text}`,
      "Grant the user rights on the spool's schema (USAGE, CREATE, and on its tables), or connect as its owner.",
    ],
    'read-only': [
      `PostgreSQL at ${where} refused a write: ${text}`,
      'The server or this user is read-only (a standby?). Connect to the primary, or grant write access.',
    ],
    full: [
      `PostgreSQL at ${where} is out of space or memory: ${text}`,
      'Free disk space on the server, or clean up old messages (agent-comm cleanup).',
    ],
    'query-failed': [
      `A PostgreSQL statement failed at ${where}: ${text}`,
      `Is PostgreSQL at ${where} healthy and its agent-comm schema intact? Run verify to check.`,
    ],
  }
  const [message, hint] = messages[reason]
  return new StorageError(message, {
    hint,
    // The same detail keys as the other adapters' mapping (drivers/driver-errors.ts on the pgdrivers branch).
    details: {
      reason,
      server: where,
      ...(code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? { sqlState: code } : {}),
    },
    cause: error,
  })
}
