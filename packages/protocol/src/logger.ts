/** Where library code reports what it is doing. Pass pino, a console wrapper, or nothing at all. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

/** Log levels from most to least verbose, plus `silent`. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Level of a program whose configuration names none: warnings and errors. */
export const DEFAULT_LOG_LEVEL = 'warn' satisfies LogLevel

/**
 * The level `value` names, read as AGENT_COMM_LOG_LEVEL is everywhere: trimmed, in any case (the seed
 * documents `DEBUG`); undefined when it is unset or names no level.
 */
export function readLogLevel(value: string | undefined): LogLevel | undefined {
  const level = value?.trim().toLowerCase()
  return LOG_LEVELS.find((known) => known === level)
}

const noop = (): void => {}

/** A logger that drops everything: the default wherever a logger is optional. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 }

/**
 * A logger that formats each entry at or above `level` as one text line (`[warn] message {"fields":…}`)
 * and hands it to `write`. Composition roots pass a writer such as `(line) => process.stderr.write(line)`;
 * the library itself never chooses where output goes.
 */
export function createLineLogger(options: {
  level: LogLevel
  write: (line: string) => void
  prefix?: string
}): Logger {
  const prefix = options.prefix === undefined ? '' : `${options.prefix} `
  const at =
    (entryLevel: Exclude<LogLevel, 'silent'>) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (LEVEL_RANK[entryLevel] < LEVEL_RANK[options.level]) return
      const extra = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`
      options.write(`${prefix}[${entryLevel}] ${message}${extra}\n`)
    }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
