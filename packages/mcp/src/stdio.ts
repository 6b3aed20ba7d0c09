import type { Readable, Writable } from 'node:stream'
import type { Coordinator } from '@agent-comm/coordinator'
import {
  AgentCommError,
  ClosedError,
  closeOnFailure,
  errorMessage,
  isAgentCommError,
} from '@agent-comm/protocol'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { MailFeed } from './feed.js'
import type { RelaySecrets } from './relay-secrets.js'
import { openRuntime, type Runtime, readSettings, type StartOptions } from './runtime.js'
import { createMcpServer } from './server.js'
import { StdioLineTransport } from './stdio-transport.js'

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
  /**
   * Resolves once the server stopped: closed, or its client disconnected (stdin ended). Rejects, when it
   * stops, if the database could not be opened (a stdio server answers `initialize` before it opens the
   * database, and then answers every tool call with that failure until it stops).
   */
  readonly closed: Promise<void>
}

/** When the client has said nothing this long after start, the database is opened anyway (ms). */
const IDLE_OPEN_MS = 250

/** Stands for the coordinator until it is open; every use waits for `ready` first (see McpServerOptions). */
function deferredCoordinator(get: () => Coordinator | undefined): Coordinator {
  return new Proxy({} as Coordinator, {
    get(_target, property) {
      const real = get()
      if (real === undefined) throw new ClosedError('The coordinator (still opening)')
      const value: unknown = Reflect.get(real, property, real)
      return typeof value === 'function' ? value.bind(real) : value
    },
  })
}

/**
 * What each tool call answers when the configuration or the database could not be opened: the failure's
 * own code, message and hint, saying that the server must be restarted once it is fixed (it opens once).
 */
function openFailure(error: unknown): unknown {
  if (!isAgentCommError(error)) return error
  const restart =
    'Then restart this MCP server (reconnect it in the client): it opens the database once, at start.'
  // A setting the environment got wrong is no database failure: say which it is.
  const what = error.code === 'CONFIG' ? 'Could not start' : 'Could not open the database'
  return new AgentCommError(error.code, `${what}: ${error.message}`, {
    hint: error.hint === undefined ? restart : `${error.hint} ${restart}`,
    details: error.details,
    cause: error,
  })
}

/** The relay secret store, once the runtime has opened it. */
function deferredRelaySecrets(runtime: Promise<Runtime>): RelaySecrets {
  const store = async (): Promise<RelaySecrets> => {
    const secrets = (await runtime).relaySecrets
    if (secrets === undefined) throw new ClosedError('The relay secret store')
    return secrets
  }
  return {
    generate: async (agentId, options) => (await store()).generate(agentId, options),
    list: async () => (await store()).list(),
  }
}

/**
 * Serves agent-comm over stdio, the way MCP clients launch local servers: JSON-RPC frames on stdin and
 * stdout, logs on stderr. Opens the coordinator from `env` unless one is given. The server stops
 * when stdin ends; the returned `closed` resolves then.
 */
export async function startStdioServer(options: StdioServerOptions = {}): Promise<RunningServer> {
  // The client is answered first: `initialize` and `tools/list` need no database, and opening it imports
  // the coordinator and drizzle (most of the start-up time). Calls wait until it is open.
  const settings = readSettings(options)
  let open: Runtime | undefined
  // Opened once the client has its initialize answer (its `initialized` notification, or any request
  // after initialize): importing the coordinator blocks the event loop, so it must not start before.
  let started = false
  let startOpening: () => void = () => {}
  const opening = new Promise<void>((resolve) => {
    startOpening = () => {
      started = true
      resolve()
    }
  })
    .then(() => openRuntime(options, settings))
    .catch((error: unknown) => {
      throw openFailure(error)
    })
    .then((runtime) => {
      open = runtime
      return runtime
    })
  // Reported through `closed`; every other waiter sees the same rejection.
  opening.catch(() => {})
  const stdin = options.stdin ?? process.stdin
  const stdout = options.stdout ?? process.stdout
  const runtime = {
    logger: settings.logger,
    close: async () => {
      // Never started: nothing was opened (and nothing will be).
      if (!started) return
      const opened = await opening.catch(() => undefined)
      await opened?.close()
    },
  }
  const server = await closeOnFailure(
    () => runtime.close(),
    () =>
      createMcpServer({
        coordinator: options.coordinator ?? deferredCoordinator(() => open?.coordinator),
        ...settings.session,
        feed: new MailFeed(() => options.coordinator ?? open!.coordinator, options.inboxCheckIntervalMs),
        ...(settings.session.relaySecretsConfigured === true
          ? { relaySecrets: options.relaySecrets ?? deferredRelaySecrets(opening) }
          : {}),
        ready: opening,
      }),
  )
  const transport = new StdioLineTransport(stdin, stdout)

  let resolveClosed: () => void = () => {}
  let rejectClosed: (error: unknown) => void = () => {}
  const closed = new Promise<void>((resolve, reject) => {
    resolveClosed = resolve
    rejectClosed = reject
  })
  let failure: { error: unknown } | undefined
  opening.catch((error: unknown) => {
    // The client is connected and may be mid-session: the server stays up, and every call answers this
    // failure as a tool error (tool-gate awaits `ready`). Opened once, not retried: a bound session's
    // registration and channel start with the open. `closed` reports it when the server stops.
    failure = { error }
    const hint = isAgentCommError(error) ? error.hint : undefined
    runtime.logger.error(
      {
        error: errorMessage(error),
        ...(hint === undefined ? {} : { hint }),
      },
      'cannot serve tool calls: every tool call answers this error; fix it, then restart the server',
    )
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
        if (failure === undefined) resolveClosed()
        else rejectClosed(failure.error)
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
    startOpening()
    await close()
    throw error
  }
  // The database opens once initialize is answered, on any later message, when stdin ends (so a bad
  // configuration is still reported), or shortly after start when the client says nothing.
  let initializeId: string | number | undefined
  const onmessage = transport.onmessage
  transport.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) initializeId = message.id
    else startOpening()
    onmessage?.(message)
  }
  const send = transport.send.bind(transport)
  transport.send = async (message: JSONRPCMessage) => {
    await send(message)
    if ('id' in message && message.id === initializeId && !('method' in message)) startOpening()
  }
  stdin.once('end', startOpening)
  setTimeout(startOpening, IDLE_OPEN_MS).unref()
  runtime.logger.info({}, 'agent-comm MCP server ready on stdio')
  return { close, closed }
}
