import type { Logger, LogLevel } from '@agent-comm/protocol'

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 }

/**
 * A logger writing one line per entry to stderr. On stdio, stdout carries only protocol frames, so every
 * log line must go here. Entries below `level` are dropped.
 */
export function stderrLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const at =
    (entryLevel: Exclude<LogLevel, 'silent'>) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (RANK[entryLevel] < RANK[level]) return
      const extra = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`
      write(`[agent-comm-mcp] [${entryLevel}] ${message}${extra}\n`)
    }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
