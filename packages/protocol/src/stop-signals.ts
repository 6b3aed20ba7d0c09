// How a process that runs until stopped (the relay, the MCP server, `agent-comm bridge` / `poll --follow`)
// reacts to SIGINT and SIGTERM: one rule for every bin, free of zod so a command line loads it at start
// (`@agent-comm/protocol/stop-signals`).

/** The signals that ask a long-running process to stop. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** A stop signal's name. */
export type StopSignalName = (typeof STOP_SIGNALS)[number]

/** Where signals come from: `process`, or an emitter standing in for it in a test. */
export interface SignalSource {
  on(event: StopSignalName, listener: (signal: StopSignalName) => void): unknown
  off(event: StopSignalName, listener: (signal: StopSignalName) => void): unknown
}

/** Options of {@link catchStopSignals}. */
export interface CatchStopSignalsOptions {
  /** Called by a second signal, for a stop that hangs; by default the process exits at once with 1. */
  onSecondSignal?: (signal: StopSignalName) => void
  /** Where to listen (`process` by default). */
  source?: SignalSource
}

/** Stop signals being caught: see {@link catchStopSignals}. */
export interface CaughtStopSignals {
  /** Aborted by the first SIGINT or SIGTERM, with the signal's name (`'SIGTERM'`) as its reason. */
  readonly signal: AbortSignal
  /** Stops listening: a signal then does what it would have done without this (usually end the process). */
  release(): void
}

/**
 * Catches SIGINT and SIGTERM so that they stop the process cleanly instead of killing it: the first aborts
 * `signal` (the process finishes what it holds and exits 0), a second calls `onSecondSignal`, which by
 * default exits at once with 1. Composition roots call it; `release()` when the work is done.
 */
export function catchStopSignals(options: CatchStopSignalsOptions = {}): CaughtStopSignals {
  const source: SignalSource = options.source ?? process
  const onSecond = options.onSecondSignal ?? (() => process.exit(1))
  const stop = new AbortController()
  const listener = (signal: StopSignalName): void => {
    if (stop.signal.aborted) onSecond(signal)
    else stop.abort(signal)
  }
  for (const name of STOP_SIGNALS) source.on(name, listener)
  return {
    signal: stop.signal,
    release() {
      for (const name of STOP_SIGNALS) source.off(name, listener)
    },
  }
}
