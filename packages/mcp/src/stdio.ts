import type { Readable, Writable } from 'node:stream'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { openRuntime, type StartOptions } from './runtime.js'
import { createMcpServer } from './server.js'

/** Options of {@link startStdioServer}. */
export interface StdioServerOptions extends StartOptions {
  /** Where requests come from (default `process.stdin`). */
  stdin?: Readable
  /** Where responses go (default `process.stdout`): nothing but protocol frames is ever written to it. */
  stdout?: Writable
}

/** A running server: stop it, or wait for the client to go away. */
export interface RunningServer {
  /** Closes the connection and what the server opened. Safe to call twice. */
  close(): Promise<void>
  /** Resolves once the server stopped: closed, or its client disconnected (stdin ended). */
  readonly closed: Promise<void>
}

/**
 * Serves agent-comm over stdio, the way MCP clients launch local servers: JSON-RPC frames on stdin and
 * stdout, logs on stderr. Opens the coordinator from the environment unless one is given. The server stops
 * when stdin ends; the returned `closed` resolves then.
 */
export async function startStdioServer(options: StdioServerOptions = {}): Promise<RunningServer> {
  const runtime = await openRuntime(options)
  const stdin = options.stdin ?? process.stdin
  const stdout = options.stdout ?? process.stdout
  const server = createMcpServer({
    coordinator: runtime.coordinator,
    logger: runtime.logger,
    ...(runtime.relaySecrets === undefined ? {} : { relaySecrets: runtime.relaySecrets }),
    ...(runtime.inboxCheckIntervalMs === undefined
      ? {}
      : { inboxCheckIntervalMs: runtime.inboxCheckIntervalMs }),
  })
  const transport = new StdioServerTransport(stdin, stdout)

  let resolveClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stdin.off('end', onEnd)
      stdout.off('error', onStdoutError)
      try {
        await server.close()
      } finally {
        await runtime.close()
        resolveClosed()
      }
    })()
    return closing
  }
  const onEnd = (): void => {
    runtime.logger.debug({}, 'stdin ended; stopping')
    void close()
  }
  // The client closed its end of the pipe: nobody is listening any more.
  const onStdoutError = (error: Error): void => {
    runtime.logger.debug({ error: error.message }, 'stdout failed; stopping')
    void close()
  }
  server.server.onerror = (error) => runtime.logger.warn({ error: error.message }, 'protocol error')
  stdin.on('end', onEnd)
  stdout.on('error', onStdoutError)
  try {
    await server.connect(transport)
  } catch (error) {
    await close()
    throw error
  }
  runtime.logger.info({}, 'agent-comm MCP server ready on stdio')
  return { close, closed }
}
