import { accessSync, constants } from 'node:fs'
import { ErrorCode, errorMessage } from '@agent-comm/protocol/errors'
import { listenProblem } from '@agent-comm/protocol/listen-problems'
import { safeBlock } from './terminal-text.js'

/** Exit codes of every agent-comm command. */
export const ExitCode = {
  OK: 0,
  /** Anything else: storage trouble, an unexpected failure, a failed `stats --verify`. */
  FAILURE: 1,
  /** Bad usage: an unknown flag, a missing argument, an invalid value or environment variable. */
  USAGE: 2,
  /** The agent, message or delivery named does not exist. */
  NOT_FOUND: 3,
  /**
   * The delivery is not in a state that allows it (the lease was lost, or it was acked already), or the
   * message id clashes with a stored message (another sender's, or the sender's own with other content).
   */
  CONFLICT: 4,
  /** `request`: no reply came within --wait (the request stays delivered; the error names its id). */
  TIMEOUT: 5,
} as const

/** The exit code a shell gives a process a signal ended: 128 + the signal's number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: 'SIGINT' | 'SIGTERM'): number {
  return signal === 'SIGINT' ? 130 : 143
}

const EXIT_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> = {
  VALIDATION: ExitCode.USAGE,
  CONFIG: ExitCode.USAGE,
  AGENT_NOT_FOUND: ExitCode.NOT_FOUND,
  MESSAGE_NOT_FOUND: ExitCode.NOT_FOUND,
  DELIVERY_NOT_FOUND: ExitCode.NOT_FOUND,
  LEASE_LOST: ExitCode.CONFLICT,
  INVALID_STATE: ExitCode.CONFLICT,
  CONFLICT: ExitCode.CONFLICT,
  TIMEOUT: ExitCode.TIMEOUT,
}

/** Every code of the protocol's `AgentCommError`s. */
const AGENT_COMM_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode))

/** The exit code for an agent-comm error code. */
export function exitCodeFor(code: string): number {
  return EXIT_BY_CODE[code as ErrorCode] ?? ExitCode.FAILURE
}

/** An error as the CLI reports it: the `error` object of the `--json` output, plus the exit code. */
export interface ErrorReport {
  /** An agent-comm error code (`AGENT_NOT_FOUND`, …), `VALIDATION` for bad usage, `INTERNAL` for a bug. */
  code: string
  message: string
  /** What to do about it, or null. */
  hint: string | null
  exitCode: number
  /** The request a failed wait for a reply was about (`request`): sent, and waiting for its reply. */
  requestId?: string
}

/** The parts of an agent-comm error that the report needs (the protocol's `AgentCommError`). */
export interface CodedError {
  code: string
  message: string
  hint: string | undefined
}

/**
 * True for an `AgentCommError` recognised by its shape: an Error with one of the protocol's codes and a
 * string (or no) hint. `relay start` and `mcp` load @agent-comm/relay and @agent-comm/mcp outside the
 * runtime bundle, with their own copy of the protocol package, whose error classes `instanceof` against
 * the bundle's does not recognise; their config and storage errors must still keep their exit codes.
 */
export function hasAgentCommErrorShape(error: unknown): error is CodedError {
  if (!(error instanceof Error)) return false
  const { code, hint } = error as { code?: unknown; hint?: unknown }
  return (
    typeof code === 'string' && AGENT_COMM_CODES.has(code) && (hint === undefined || typeof hint === 'string')
  )
}

/**
 * A failure the CLI itself reports, with its own code, hint and exit code: e.g. `UNAVAILABLE` when the
 * relay or the MCP server cannot listen on the address asked for.
 */
export class CommandFailure extends Error {
  readonly code: string
  readonly hint: string | undefined
  readonly exitCode: number
  /** The request the failure is about, when one was sent (see {@link ErrorReport.requestId}). */
  readonly requestId: string | undefined

  constructor(
    code: string,
    message: string,
    options: { hint?: string; exitCode?: number; cause?: unknown; requestId?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CommandFailure'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? ExitCode.FAILURE
    this.requestId = options.requestId
  }
}

/** What Node's system errors mean for the user and what to do: the machine's trouble, not a bug of ours. */
const SYSTEM_PROBLEMS: Readonly<Record<string, { code: 'STORAGE' | 'UNAVAILABLE'; fix: string }>> = {
  EACCES: {
    code: 'STORAGE',
    fix: 'This user may not use that file or folder: check its permissions (ls -l), or choose another path.',
  },
  EPERM: {
    code: 'STORAGE',
    fix: 'This user may not use that file or folder: check its permissions (ls -l), or choose another path.',
  },
  EROFS: { code: 'STORAGE', fix: 'That file system is read-only: choose a path on a writable one.' },
  ENOENT: { code: 'STORAGE', fix: 'A file or folder on that path does not exist: check the path.' },
  ENOTDIR: { code: 'STORAGE', fix: 'A part of that path is a file, not a folder: check the path.' },
  EISDIR: { code: 'STORAGE', fix: 'That path is a folder, not a file: check the path.' },
  ENOSPC: { code: 'STORAGE', fix: 'The disk is full: free space, then retry.' },
  EMFILE: {
    code: 'STORAGE',
    fix: 'Too many open files: raise the limit (ulimit -n) or close other programs.',
  },
  ECONNREFUSED: {
    code: 'UNAVAILABLE',
    fix: 'Nothing listens there: start the server, or check the URL and port.',
  },
  ECONNRESET: {
    code: 'UNAVAILABLE',
    fix: 'The connection was cut: check the network and the server, then retry.',
  },
  ETIMEDOUT: {
    code: 'UNAVAILABLE',
    fix: 'The server did not answer in time: check the network and the server, then retry.',
  },
  EHOSTUNREACH: {
    code: 'UNAVAILABLE',
    fix: 'That host cannot be reached: check the network and the address.',
  },
  ENOTFOUND: { code: 'UNAVAILABLE', fix: 'No such host name: check the spelling of the host or URL.' },
  EAI_AGAIN: {
    code: 'UNAVAILABLE',
    fix: 'The host name could not be looked up now: check the network (DNS), then retry.',
  },
  EADDRINUSE: {
    code: 'UNAVAILABLE',
    fix: 'That address is already in use: stop what uses it, or choose another port.',
  },
  EADDRNOTAVAIL: {
    code: 'UNAVAILABLE',
    fix: 'This machine has no such address: choose one of its addresses (or 0.0.0.0).',
  },
}

/**
 * A Node system error (it has an `E…` code and a `syscall`) reported as what it is: a permission, a path,
 * a full disk or the network, with what to do. Undefined for any other error.
 */
function environmentFailure(error: unknown): ErrorReport | undefined {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown }
  if (typeof code !== 'string' || typeof syscall !== 'string') return undefined
  const known = SYSTEM_PROBLEMS[code]
  return {
    code: known?.code ?? 'STORAGE',
    message: (error as Error).message,
    hint: known?.fix ?? 'The system refused the operation; AGENT_COMM_LOG_LEVEL=debug shows the details.',
    exitCode: ExitCode.FAILURE,
  }
}

/** The shape oclif gives its own errors: parse errors carry `oclif.exit` (2). */
function oclifExit(error: unknown): number | undefined {
  const exit = (error as { oclif?: { exit?: unknown } } | undefined)?.oclif?.exit
  return typeof exit === 'number' ? exit : undefined
}

/** oclif's parse messages end with a help pointer and prefix flag-parse failures with "Parsing --x \n\t". */
function tidyParseMessage(message: string): string {
  return message
    .replace(/\n?See more help with --help\s*$/, '')
    .replace(/^The following errors? occurred:\s*/, '')
    .replace(/^Parsing (--[\w-]+)\s*\n\s*/, 'Invalid $1: ')
    .trim()
}

/**
 * Classifies a failure for the user: the CLI's own failures and agent-comm errors keep their code and hint,
 * oclif's usage errors become `VALIDATION` (exit 2), anything else is `INTERNAL` (exit 1). `command` is
 * the oclif id (`relay:start`), shown as typed (`relay start`).
 */
export function describeError(
  error: unknown,
  isAgentCommError: (error: unknown) => error is CodedError,
  command: string | undefined,
): ErrorReport {
  if (error instanceof CommandFailure) {
    const report = {
      code: error.code,
      message: error.message,
      hint: error.hint ?? null,
      exitCode: error.exitCode,
    }
    return error.requestId === undefined ? report : { ...report, requestId: error.requestId }
  }
  if (isAgentCommError(error) || hasAgentCommErrorShape(error)) {
    // The HTTP transport reports a relay it cannot reach as STORAGE with the relay code UNAVAILABLE: for the
    // user it is not their database but a server to start or a network to check.
    const relayCode = (error as { details?: { relayCode?: unknown } }).details?.relayCode
    if (relayCode === 'UNAVAILABLE') {
      return {
        code: 'UNAVAILABLE',
        message: error.message,
        hint: error.hint ?? null,
        exitCode: ExitCode.FAILURE,
      }
    }
    const hint =
      error.hint ??
      (error.code === 'STORAGE'
        ? 'Check that the database file is a readable agent-comm database and not locked by another process (lsof <file>); AGENT_COMM_LOG_LEVEL=debug shows the details.'
        : undefined)
    return { code: error.code, message: error.message, hint: hint ?? null, exitCode: exitCodeFor(error.code) }
  }
  const environment = environmentFailure(error)
  if (environment !== undefined) return environment
  const exit = oclifExit(error)
  const message = errorMessage(error)
  if (exit !== undefined) {
    return {
      code: 'VALIDATION',
      message: tidyParseMessage(message),
      hint: `See the usage: agent-comm ${command?.replaceAll(':', ' ') ?? ''} --help`.replace(/ {2}/, ' '),
      exitCode: exit === 0 ? ExitCode.USAGE : exit,
    }
  }
  return {
    code: 'INTERNAL',
    message,
    hint: 'This looks like a bug in agent-comm. Run again with AGENT_COMM_LOG_LEVEL=debug to see the stack trace.',
    exitCode: ExitCode.FAILURE,
  }
}

/**
 * The two lines a person sees on stderr: `Error: <message>` and the hint, if any. Messages can quote
 * what a relay or an agent sent, so control characters are shown escaped.
 */
export function formatErrorText(report: ErrorReport): string {
  const message = safeBlock(report.message)
  return report.hint === null ? `Error: ${message}\n` : `Error: ${message}\n${safeBlock(report.hint)}\n`
}

/** The `--json` form of an error (with `requestId` when a sent request's wait failed). */
export function errorJson(report: ErrorReport): {
  error: { code: string; message: string; hint: string | null; requestId?: string }
} {
  const error = { code: report.code, message: report.message, hint: report.hint }
  return { error: report.requestId === undefined ? error : { ...error, requestId: report.requestId } }
}

/**
 * The failure to report when a server could not listen on `host:port` (port in use, no permission, no
 * such address), or undefined for any other error. `retry` is the command to suggest with another port.
 */
export function listenFailure(
  error: unknown,
  where: { what: string; host: string; port: number; retry: string },
): CommandFailure | undefined {
  const known = listenProblem(error, where.retry)
  if (known === undefined) return undefined
  return new CommandFailure(
    'UNAVAILABLE',
    `The ${where.what} cannot listen on ${where.host}:${where.port}: ${known.problem}`,
    { hint: known.fix, cause: error },
  )
}

/**
 * The secret store reports an agent without a secret as `AGENT_NOT_FOUND` with the registry's wording
 * ("not registered"), though it says nothing about registration; this says what is missing where.
 */
export function missingRelaySecret(error: unknown, agentId: string, storePath: string): unknown {
  if (!hasAgentCommErrorShape(error) || error.code !== 'AGENT_NOT_FOUND') return error
  return new CommandFailure('AGENT_NOT_FOUND', `Agent '${agentId}' has no relay secret in ${storePath}`, {
    hint: `Create one: agent-comm relay gen-secret ${agentId}`,
    exitCode: ExitCode.NOT_FOUND,
    cause: error,
  })
}

/** SQLite's and the system's ways of saying this user may not write the database (or create its files). */
function isPermissionFailure(error: unknown): boolean {
  if (!hasAgentCommErrorShape(error) || error.code !== 'STORAGE') return false
  const details = (error as { details?: { reason?: unknown; sqliteCode?: unknown; systemCode?: unknown } })
    .details
  if (details?.reason === 'read-only') return true
  const sqliteCode = String(details?.sqliteCode ?? '')
  const systemCode = String(details?.systemCode ?? '')
  return (
    sqliteCode.startsWith('SQLITE_READONLY') ||
    sqliteCode.startsWith('SQLITE_CANTOPEN') ||
    sqliteCode === 'SQLITE_PERM' ||
    systemCode === 'EACCES' ||
    systemCode === 'EPERM' ||
    systemCode === 'EROFS'
  )
}

/** True for a `STORAGE` failure because the disk holding the database is full (`details.reason` `full`). */
export function isDiskFull(error: unknown): boolean {
  if (!hasAgentCommErrorShape(error) || error.code !== 'STORAGE') return false
  return (error as { details?: { reason?: unknown } }).details?.reason === 'full'
}

/**
 * True when opening the database for writing failed because this user may not write it, while the file
 * is there and readable: a command that only reads can then open it read-only.
 */
export function mayOnlyRead(error: unknown, dbPath: string): boolean {
  if (!isPermissionFailure(error)) return false
  try {
    accessSync(dbPath, constants.R_OK)
    return true
  } catch {
    // Missing or unreadable: not a database this user may read, so the first error stands.
    return false
  }
}

/**
 * On PostgreSQL, a schema without agent-comm's tables opened by a command that may not create it: said in
 * the CLI's words (its flags and variables), the server named as the error names it (without a password).
 * Any other error is returned as it is.
 */
export function missingSchemaFailure(error: unknown): unknown {
  if (!hasAgentCommErrorShape(error) || error.code !== 'STORAGE') return error
  if ((error as { details?: { reason?: unknown } }).details?.reason !== 'missing') return error
  return new CommandFailure('STORAGE', error.message, {
    hint: 'Create one with `agent-comm register <name> -c <capabilities> -d <device>`, or pass --create. If you expected one here, check --db, AGENT_COMM_DB_PATH and AGENT_COMM_PG_SCHEMA.',
    cause: error,
  })
}

/**
 * The failure to report when the database could not be opened as asked: a missing file (read commands do
 * not create one) or another application's SQLite file, said in the CLI's words (its flags); any other
 * error is returned as it is.
 */
export function databaseOpenFailure(error: unknown, dbPath: string): unknown {
  if (!hasAgentCommErrorShape(error) || error.code !== 'STORAGE') return error
  const reason = (error as { details?: { reason?: unknown } }).details?.reason
  if (reason === 'missing') {
    const empty = (error as { details?: { empty?: unknown } }).details?.empty === true
    return new CommandFailure(
      'STORAGE',
      `No agent-comm database at ${dbPath}${empty ? ': the file is empty' : ''}`,
      {
        hint: `${empty ? 'If it was a database, restore it from a backup. To start a new one there, c' : 'C'}reate one with \`agent-comm register <name> -c <capabilities> -d <device>\`, or pass --create. If you expected one here, check --db, AGENT_COMM_DB_PATH and AGENT_COMM_PROJECT_ROOT.`,
        cause: error,
      },
    )
  }
  if (mayOnlyRead(error, dbPath)) {
    return new CommandFailure('STORAGE', `The database at ${dbPath} is read-only for this user`, {
      hint: 'Ask its owner for write access to the file and its folder, or use a copy (--db <copy>). Commands that only read (agents, stats, status, search, conversations, conversation, failed, inbox) work on it as it is.',
      cause: error,
    })
  }
  if (reason === 'foreign-tables') {
    return new CommandFailure('STORAGE', error.message, {
      hint: "Check --db and AGENT_COMM_DB_PATH. To keep agent-comm's tables in this file anyway, pass --allow-foreign-tables.",
      cause: error,
    })
  }
  return error
}
