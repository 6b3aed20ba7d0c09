#!/usr/bin/env node
import { unsupportedNodeMessage } from '@agent-comm/spool/node-support'
import type { RelayHandle } from './start.js'

// The Node version is checked before anything else is loaded: on a Node too old for better-sqlite3 the
// relay would die with a segmentation fault instead of saying what to install.
const unsupported = unsupportedNodeMessage(process.versions.node, 'agent-comm-relay')
if (unsupported !== undefined) {
  process.stderr.write(unsupported)
  process.exit(1)
}
const { isAgentCommError } = await import('@agent-comm/protocol')

/** The relay's command line: read flags and environment, start, and stop cleanly on SIGTERM / SIGINT. */
async function main(): Promise<void> {
  const { loadRelayConfig, RELAY_USAGE } = await import('./config.js')
  const { createRelayLogger } = await import('./logger.js')
  const { startRelay } = await import('./start.js')
  const { startTracingFromEnv } = await import('./otel.js')
  const { catchStopSignals } = await import('@agent-comm/protocol/stop-signals')
  const loaded = loadRelayConfig(process.argv.slice(2), process.env, { cwd: process.cwd() })
  if (loaded.help) {
    process.stdout.write(RELAY_USAGE)
    return
  }
  const { config } = loaded
  const logger = createRelayLogger({ level: config.logLevel })
  const tracing = await startTracingFromEnv(process.env)
  if (tracing !== undefined) logger.info({ url: tracing.url }, 'exporting traces over OTLP')
  let handle: RelayHandle
  try {
    handle = await startRelay(config, { logger })
  } catch (error) {
    const { listenProblem } = await import('@agent-comm/protocol/listen-problems')
    const problem = listenProblem(error, 'agent-comm-relay')
    if (problem === undefined) throw error
    process.stderr.write(
      `agent-comm-relay: cannot listen on ${config.host}:${config.port}: ${problem.problem}\n${problem.fix}\n`,
    )
    process.exit(1)
  }
  const stop = catchStopSignals({
    onSecondSignal: (signal) => {
      logger.warn({ signal }, 'second signal: exiting without waiting')
      process.exit(1)
    },
  })
  stop.signal.addEventListener(
    'abort',
    () => {
      logger.info(
        { signal: stop.signal.reason },
        'stopping: no new connections, finishing requests in flight',
      )
      handle
        .close()
        .then(() => tracing?.shutdown())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'relay did not stop cleanly')
            process.exit(1)
          },
        )
    },
    { once: true },
  )
}

main().catch((error: unknown) => {
  if (isAgentCommError(error)) {
    process.stderr.write(
      `agent-comm-relay: ${error.message}\n${error.hint === undefined ? '' : `${error.hint}\n`}`,
    )
    process.exit(error.code === 'CONFIG' || error.code === 'VALIDATION' ? 2 : 1)
  }
  // An error of the system (a data folder that is a file, a missing right) says all there is to say in its
  // message; a stack trace is for the relay's own failures.
  const fromSystem = error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string'
  process.stderr.write(
    `agent-comm-relay: ${error instanceof Error ? (fromSystem ? error.message : (error.stack ?? error.message)) : String(error)}\n`,
  )
  process.exit(1)
})
