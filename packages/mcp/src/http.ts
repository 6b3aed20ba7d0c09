import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { openRuntime, type StartOptions } from './runtime.js'
import { createMcpServer } from './server.js'
import type { RunningServer } from './stdio.js'

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions extends StartOptions {
  /** Port to listen on (default 0: an ephemeral port; read it from the result). */
  port?: number
  /** Address to bind (default 127.0.0.1). Anything but loopback exposes the unauthenticated tools. */
  host?: string
  /** Path of the MCP endpoint (default `/mcp`). */
  path?: string
}

/** A running Streamable HTTP server. */
export interface RunningHttpServer extends RunningServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8421/mcp`. */
  readonly url: string
  readonly host: string
  readonly port: number
}

/** Largest request body accepted, in bytes: a message body is at most 1 MiB, JSON escaping can double it. */
const MAX_BODY_BYTES = 4 * 1024 * 1024

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

interface Session {
  transport: StreamableHTTPServerTransport
  server: McpServer
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}

/** Reads and parses a JSON body; undefined for an empty one. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > MAX_BODY_BYTES) throw new RangeError('body too large')
    chunks.push(buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  return text.trim() === '' ? undefined : JSON.parse(text)
}

/**
 * True when the Host header names this machine. A server on loopback refuses other names, so a web page
 * cannot reach it through DNS rebinding.
 */
function hostAllowed(req: IncomingMessage): boolean {
  const header = req.headers.host
  if (header === undefined) return false
  try {
    return LOOPBACK_HOSTS.has(new URL(`http://${header}`).hostname)
  } catch {
    return false
  }
}

/**
 * Serves agent-comm over MCP Streamable HTTP at `http://host:port/mcp`, one MCP session (and server) per
 * client, all on one coordinator. Binds 127.0.0.1 by default and then accepts only loopback Host headers.
 * Opens the coordinator from the environment unless one is given.
 */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const runtime = await openRuntime(options)
  const { logger } = runtime
  const host = options.host ?? '127.0.0.1'
  const path = options.path ?? '/mcp'
  const loopbackOnly = LOOPBACK_HOSTS.has(host)
  const sessions = new Map<string, Session>()

  const newSession = (): Session => {
    const server = createMcpServer({
      coordinator: runtime.coordinator,
      logger,
      ...(runtime.relaySecrets === undefined ? {} : { relaySecrets: runtime.relaySecrets }),
      ...(runtime.inboxCheckIntervalMs === undefined
        ? {}
        : { inboxCheckIntervalMs: runtime.inboxCheckIntervalMs }),
    })
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, session)
        logger.debug({ session: id }, 'MCP session started')
      },
    })
    const session: Session = { transport, server }
    transport.onclose = () => {
      const id = transport.sessionId
      if (id !== undefined && sessions.get(id) === session) {
        sessions.delete(id)
        logger.debug({ session: id }, 'MCP session closed')
      }
    }
    return session
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== path) {
      sendJsonRpcError(res, 404, -32000, `Not found: the MCP endpoint is ${path}`)
      return
    }
    if (loopbackOnly && !hostAllowed(req)) {
      sendJsonRpcError(res, 403, -32000, `Invalid Host header: ${req.headers.host ?? '(none)'}`)
      return
    }
    const sessionHeader = req.headers['mcp-session-id']
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader
    let body: unknown
    if (req.method === 'POST') {
      try {
        body = await readJson(req)
      } catch (error) {
        const tooLarge = error instanceof RangeError
        sendJsonRpcError(
          res,
          tooLarge ? 413 : 400,
          tooLarge ? -32600 : -32700,
          tooLarge ? 'Request body too large' : 'Parse error: invalid JSON',
        )
        return
      }
    }
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId)
      if (session === undefined) {
        sendJsonRpcError(res, 404, -32001, 'Session not found: start a new one with an initialize request')
        return
      }
      await session.transport.handleRequest(req, res, body)
      return
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const session = newSession()
      await session.server.connect(session.transport)
      await session.transport.handleRequest(req, res, body)
      return
    }
    sendJsonRpcError(
      res,
      400,
      -32000,
      'Bad request: send an initialize request first, then the Mcp-Session-Id header',
    )
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ error: error instanceof Error ? error.message : String(error) }, 'HTTP request failed')
      sendJsonRpcError(res, 500, -32603, 'Internal error')
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await runtime.close()
    throw error
  }
  const address = http.address() as AddressInfo
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${urlHost}:${address.port}${path}`
  if (!loopbackOnly) {
    logger.warn(
      { host },
      'MCP over HTTP is bound to a non-loopback address: anyone who reaches it can use every tool',
    )
  }
  logger.info({ url }, 'agent-comm MCP server listening')

  let resolveClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const open = [...sessions.values()]
      sessions.clear()
      await Promise.allSettled(open.map((s) => s.server.close()))
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      await runtime.close()
      resolveClosed()
    })()
    return closing
  }
  return { url, host: address.address, port: address.port, close, closed }
}
