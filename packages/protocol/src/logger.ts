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

const noop = (): void => {}

/** A logger that drops everything: the default wherever a logger is optional. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }
