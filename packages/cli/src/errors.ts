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
interface CodedError {
  code: string
  message: string
  hint: string | undefined
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
    .replace(/^Parsing (--[\w-]+)\s*\n\s*/, 'Invalid $1: ')
    .trim()
}

/**
 * Classifies a failure for the user: agent-comm errors keep their code and hint, oclif's usage errors
 * become `VALIDATION` (exit 2), anything else is `INTERNAL` (exit 1).
 */
export function describeError(
  error: unknown,
  isAgentCommError: (error: unknown) => error is CodedError,
  command: string | undefined,
): ErrorReport {
  if (isAgentCommError(error)) {
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
      hint: `See the usage: agent-comm ${command ?? ''} --help`.replace(/ {2}/, ' '),
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

/** The two lines a person sees on stderr: `Error: <message>` and the hint, if any. */
export function formatErrorText(report: ErrorReport): string {
  return report.hint === null ? `Error: ${report.message}\n` : `Error: ${report.message}\n${report.hint}\n`
}

/** The `--json` form of an error. */
export function errorJson(report: ErrorReport): {
  error: { code: string; message: string; hint: string | null }
} {
  return { error: { code: report.code, message: report.message, hint: report.hint } }
}
