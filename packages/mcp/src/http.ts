import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Clock, ConfigError, closeOnFailure, errorMessage, systemClock } from '@agent-comm/protocol'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { MCP_HTTP_DEFAULTS } from './defaults.js'
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
  /** Sessions idle (no request) this long are closed, in ms (default 30 minutes). */
  sessionTtlMs?: number
  /**
   * Bearer token every request must carry (`Authorization: Bearer <token>`); wins over
   * `AGENT_COMM_MCP_TOKEN`. Required when binding anything but loopback.
   */
  token?: string
  /** Browser origins allowed besides loopback ones (e.g. `https://console.example`). */
  allowedOrigins?: string[]
  /** Idle times are measured on this clock (default: the system clock). */
  clock?: Clock
}

/** Header naming the agent an HTTP session acts as (read on its initialize request). */
export const AGENT_HEADER = 'x-agent-comm-agent'

/** Default idle time after which a session is closed. */
export const DEFAULT_SESSION_TTL_MS = MCP_HTTP_DEFAULTS.sessionTtlSeconds * 1000

/** A running Streamable HTTP server. */
export interface RunningHttpServer extends RunningServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8422/mcp`. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Open MCP sessions. */
  readonly sessionCount: number
  /** Closes the sessions idle longer than the TTL now (it also runs on a timer); resolves how many. */
  evictIdle(): Promise<number>
}

/** Largest request body accepted, in bytes: a message body is at most 1 MiB, JSON escaping can double it. */
const MAX_BODY_BYTES = 4 * 1024 * 1024

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

interface Session {
  transport: StreamableHTTPServerTransport
  server: McpServer
  lastSeen: number
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** True when `req` carries the bearer token (compared in constant time). */
function authorized(req: IncomingMessage, token: Buffer): boolean {
  const header = req.headers.authorization
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header)
  return match !== null && timingSafeEqual(digest(match[1]!.trim()), token)
}

/** True for no Origin (not a browser), a loopback origin, or one the operator allowed. */
function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  if (allowed.has(origin)) return true
  try {
    return LOOPBACK_HOSTS.has(new URL(origin).hostname)
  } catch {
    return false
  }
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
 * Opens the coordinator from `env` (the bins pass their environment) unless one is given.
 */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const runtime = await openRuntime(options)
  const { logger } = runtime
  const host = options.host ?? MCP_HTTP_DEFAULTS.host
  const path = options.path ?? '/mcp'
  const loopbackOnly = LOOPBACK_HOSTS.has(host)
  const sessions = new Map<string, Session>()
  const clock = options.clock ?? systemClock
  const ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
  const env = options.env ?? {}
  const tokenText = options.token ?? env.AGENT_COMM_MCP_TOKEN
  const token = tokenText === undefined || tokenText === '' ? undefined : digest(tokenText)
  const allowedOrigins = new Set(options.allowedOrigins ?? [])
  if (!loopbackOnly && token === undefined) {
    await runtime.close()
    throw new ConfigError(`Refusing to serve the MCP tools on ${host} without a bearer token`, {
      hint: 'Set AGENT_COMM_MCP_TOKEN=<secret> (or pass --token <secret>, which other users see in ps) so clients must send Authorization: Bearer <secret>, or bind 127.0.0.1.',
    })
  }

  const newSession = (agent: string | undefined): Session => {
    const server = createMcpServer({
      coordinator: runtime.coordinator,
      ...runtime.session,
      // Over the session's defaults: an undefined agent must not erase AGENT_COMM_AGENT / --agent.
      ...(agent === undefined ? {} : { agent }),
    })
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, session)
        logger.debug({ session: id }, 'MCP session started')
      },
    })
    const session: Session = { transport, server, lastSeen: clock.now() }
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
    // A web page may not drive the tools from the user's browser (the Streamable HTTP spec's Origin rule).
    if (!originAllowed(req, allowedOrigins)) {
      sendJsonRpcError(res, 403, -32000, `Origin not allowed: ${req.headers.origin}`)
      return
    }
    if (token !== undefined && !authorized(req, token)) {
      res.setHeader('www-authenticate', 'Bearer')
      sendJsonRpcError(res, 401, -32000, 'Unauthorized: send Authorization: Bearer <the server token>')
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
      session.lastSeen = clock.now()
      await session.transport.handleRequest(req, res, body)
      return
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const header = req.headers[AGENT_HEADER]
      const requested = (Array.isArray(header) ? header[0] : header)?.trim() || undefined
      const fixed = runtime.session.agent
      if (
        requested !== undefined &&
        fixed !== undefined &&
        requested !== fixed &&
        runtime.session.allowOtherAgents !== true
      ) {
        sendJsonRpcError(
          res,
          403,
          -32000,
          `FORBIDDEN: this server acts as '${fixed}' only; drop the ${AGENT_HEADER} header`,
        )
        return
      }
      let session: Session
      try {
        session = newSession(requested)
      } catch (error) {
        sendJsonRpcError(res, 400, -32602, errorMessage(error))
        return
      }
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
      logger.error({ error: errorMessage(error) }, 'HTTP request failed')
      sendJsonRpcError(res, 500, -32603, 'Internal error')
    })
  })
  // An idle kept-alive connection stays open 72 s, as fastify (the relay) keeps it, not Node's 5 s: a client
  // reusing a connection the server is closing at that moment gets ECONNRESET on its call (seen under load).
  http.keepAliveTimeout = 72_000
  await closeOnFailure(
    () => runtime.close(),
    () =>
      new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(options.port ?? 0, host, () => {
          http.off('error', reject)
          resolve()
        })
      }),
  )
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
  // Clients that go away without DELETE leave their session behind: close the idle ones.
  const evictIdle = async (): Promise<number> => {
    const cutoff = clock.now() - ttlMs
    const idle = [...sessions.entries()].filter(([, s]) => s.lastSeen <= cutoff)
    for (const [id] of idle) sessions.delete(id)
    await Promise.allSettled(idle.map(([, s]) => s.server.close()))
    if (idle.length > 0) logger.debug({ sessions: idle.length }, 'idle MCP sessions closed')
    return idle.length
  }
  const sweeper = setInterval(() => void evictIdle(), Math.max(1000, Math.min(ttlMs / 4, 60_000)))
  sweeper.unref()
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(sweeper)
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
  return {
    url,
    host: address.address,
    port: address.port,
    get sessionCount() {
      return sessions.size
    },
    evictIdle,
    close,
    closed,
  }
}
