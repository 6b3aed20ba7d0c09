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
  /** The delivery is not in a state that allows it: the lease was lost, or it was acked already. */
  CONFLICT: 4,
} as const

const EXIT_BY_CODE: Readonly<Record<string, number>> = {
  VALIDATION: ExitCode.USAGE,
  CONFIG: ExitCode.USAGE,
  AGENT_NOT_FOUND: ExitCode.NOT_FOUND,
  MESSAGE_NOT_FOUND: ExitCode.NOT_FOUND,
  DELIVERY_NOT_FOUND: ExitCode.NOT_FOUND,
  LEASE_LOST: ExitCode.CONFLICT,
  INVALID_STATE: ExitCode.CONFLICT,
}

/** Every code of the protocol's `AgentCommError`s (`ErrorCode` in @agent-comm/protocol). */
const AGENT_COMM_CODES: ReadonlySet<string> = new Set([
  'VALIDATION',
  'AGENT_NOT_FOUND',
  'MESSAGE_NOT_FOUND',
  'DELIVERY_NOT_FOUND',
  'LEASE_LOST',
  'INVALID_STATE',
  'SCHEMA_VERSION',
  'STORAGE',
  'CLOSED',
  'CONFIG',
])

/** The exit code for an agent-comm error code. */
export function exitCodeFor(code: string): number {
  return EXIT_BY_CODE[code] ?? ExitCode.FAILURE
}

/** An error as the CLI reports it: the `error` object of the `--json` output, plus the exit code. */
export interface ErrorReport {
  /** An agent-comm error code (`AGENT_NOT_FOUND`, …), `VALIDATION` for bad usage, `INTERNAL` for a bug. */
  code: string
  message: string
  /** What to do about it, or null. */
  hint: string | null
  exitCode: number
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

  constructor(
    code: string,
    message: string,
    options: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CommandFailure'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? ExitCode.FAILURE
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
    return { code: error.code, message: error.message, hint: error.hint ?? null, exitCode: error.exitCode }
  }
  if (isAgentCommError(error) || hasAgentCommErrorShape(error)) {
    const hint =
      error.hint ??
      (error.code === 'STORAGE'
        ? 'Check that the database file is a readable agent-comm database and not locked by another process (lsof <file>); AGENT_COMM_LOG_LEVEL=debug shows the details.'
        : undefined)
    return { code: error.code, message: error.message, hint: hint ?? null, exitCode: exitCodeFor(error.code) }
  }
  const exit = oclifExit(error)
  const message = error instanceof Error ? error.message : String(error)
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

/** The `--json` form of an error. */
export function errorJson(report: ErrorReport): {
  error: { code: string; message: string; hint: string | null }
} {
  return { error: { code: report.code, message: report.message, hint: report.hint } }
}

/** Node's errors for an address a server cannot listen on: what each means, and what to do about it. */
const LISTEN_PROBLEMS: Readonly<Record<string, { problem: string; fix: string }>> = {
  EADDRINUSE: {
    problem: 'the address is already in use',
    fix: 'Stop what uses it, or choose another port (0 picks a free one): {retry} --port <port>',
  },
  EACCES: {
    problem: 'permission denied',
    fix: 'Ports below 1024 need privileges; choose a higher one: {retry} --port <port>',
  },
  EADDRNOTAVAIL: {
    problem: 'this machine has no such address',
    fix: 'Choose an address of this machine (0.0.0.0 for all of them): {retry} --host 127.0.0.1',
  },
}

/**
 * The failure to report when a server could not listen on `host:port` (port in use, no permission, no
 * such address), or undefined for any other error. `retry` is the command to suggest with another port.
 */
export function listenFailure(
  error: unknown,
  where: { what: string; host: string; port: number; retry: string },
): CommandFailure | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  const known = typeof code === 'string' ? LISTEN_PROBLEMS[code] : undefined
  if (known === undefined) return undefined
  return new CommandFailure(
    'UNAVAILABLE',
    `The ${where.what} cannot listen on ${where.host}:${where.port}: ${known.problem}`,
    { hint: known.fix.replace('{retry}', where.retry), cause: error },
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
