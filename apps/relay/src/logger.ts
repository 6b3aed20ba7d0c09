import type { LogLevel } from '@agent-comm/protocol'
import pino from 'pino'

/**
 * Log paths that are censored whatever a handler logs: the signature, nonce and any credential header of a
 * request, and fields named like secrets or message bodies. The relay's own log lines never include them
 * in the first place; this is the second line of defence.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers["x-signature"]',
  'req.headers["x-nonce"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-signature"]',
  'headers.authorization',
  'secret',
  'secrets',
  '*.secret',
  '*.secrets',
  'signature',
  '*.signature',
  'body',
  '*.body',
] as const

/** Options of {@link createRelayLogger}. */
export interface RelayLoggerOptions {
  /** The level, already parsed where it was read (the relay's config reads it with `readLogLevel`). */
  level: LogLevel
  /** Where JSON lines go (stdout). */
  destination?: pino.DestinationStream
}

/** The relay's structured logger: pino JSON lines, with {@link REDACTED_LOG_PATHS} censored. */
export function createRelayLogger(options: RelayLoggerOptions): pino.Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'agent-comm-relay' },
      redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  )
}
