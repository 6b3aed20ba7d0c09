import type { Logger, LogLevel } from '@agent-comm/protocol'
import { createLineLogger } from '@agent-comm/protocol'

/**
 * A logger writing one line per entry to stderr. On stdio, stdout carries only protocol frames, so every
 * log line must go here. Entries below `level` are dropped.
 */
export function stderrLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  return createLineLogger({ level, write, prefix: '[agent-comm-mcp]' })
}
