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
  let server: ReturnType<typeof createMcpServer>
  try {
    server = createMcpServer({ coordinator: runtime.coordinator, ...runtime.session })
  } catch (error) {
    await runtime.close()
    throw error
  }
  const transport = new StdioServerTransport(stdin, stdout)

  let resolveClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Past the first await, so the transport's onclose (fired by server.close()) finds `closing` set.
      await Promise.resolve()
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
  // The transport closing for any other reason (an oversized line, a read error) stops the server too,
  // closing the database, instead of leaving a process with nothing to read and nothing to finish.
  const previousOnclose = server.server.onclose
  server.server.onclose = () => {
    previousOnclose?.()
    runtime.logger.debug({}, 'transport closed; stopping')
    void close()
  }
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
