import { type AgentCard, AgentCard as AgentCardJson } from '@a2a-js/sdk'
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors'
import { JsonRpcTransportHandler, ServerCallContext, validateVersion } from '@a2a-js/sdk/server'
import type { Clock, Logger } from '@agent-comm/protocol'
import { AgentIdSchema, errorMessage, silentLogger } from '@agent-comm/protocol'
import { WaitSlots } from '@agent-comm/protocol/wait-slots'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { agentCard, directoryCard, formerAgentCard } from './card.js'
import { SpoolRequestHandler, withCallState } from './handler.js'
import { paramsProblem } from './params.js'
import { isA2AAgent } from './profile.js'
import { A2APushes } from './push.js'
import type { HostLookup, PushUrlPolicy } from './push-url.js'
import { requestJsonProblem } from './request-limits.js'
import { A2ASigningKeys, JWKS_PATH, type Sealer } from './signing-keys.js'
import { SqliteA2AStore } from './sqlite/store.js'
import type { A2AStore } from './store.js'
import { A2ATasks } from './tasks.js'
import { A2ATokens } from './tokens.js'

/** What the relay hands the A2A plugin. */
export interface A2APluginOptions {
  spool: Spool
  registry: Registry
  /** Where tasks and tokens live (default: a `SqliteA2AStore` on the spool's SQLite connection). */
  store?: A2AStore
  clock?: Clock
  logger?: Logger
  /** The relay's public base URL for cards (default: from each request's Host header). */
  baseUrl?: string
  /** Version shown on cards. */
  version?: string
  /** Largest JSON-RPC request, in bytes (1 MiB). */
  bodyLimitBytes?: number
  /** Largest caller message (its parts as JSON), in bytes (512 KiB). */
  maxMessageBytes?: number
  /** Most push-notification configs one task may have (10). */
  maxPushConfigsPerTask?: number
  /** How often open tasks are compared with their deliveries, in ms (250). */
  pollIntervalMs?: number
  /**
   * Most requests one caller may have waiting on tasks at once in this process (20; 0 for no limit): a
   * `SendMessage` without `returnImmediately`, a `SendStreamingMessage` or a `SubscribeToTask`. One more
   * is HTTP 429 with JSON-RPC error -32000 and `Retry-After`, before anything is sent.
   */
  maxWaitsPerCaller?: number
  /** SSE keep-alive comment interval, in ms (15 000). */
  keepAliveMs?: number
  /** Push notifications: how they are sent and retried (defaults of {@link A2APushes}). */
  push?: {
    fetch?: typeof fetch
    retryBaseMs?: number
    maxAttempts?: number
    timeoutMs?: number
    /**
     * Webhooks on loopback, private, link-local, unspecified or multicast addresses are refused unless
     * allowed here: `allowHosts` (host names or IP literals) or `allowPrivate` (every address).
     */
    policy?: PushUrlPolicy
    /** How webhook hosts are resolved for that check (default `dns.lookup`). */
    lookup?: HostLookup
    /** CAs trusted for https webhooks instead of Node's (PEM), e.g. an internal CA. */
    ca?: string | readonly string[]
    /**
     * Sign every push (JWS, ES256) with a key pair kept in the store, its private key sealed by
     * `sealer` (the relay's secrets key), and publish the public keys at `/.well-known/jwks.json`.
     * Without it pushes are unsigned and there is no JWKS.
     */
    signing?: {
      sealer: Sealer
      /** The `iss` claim (default: `baseUrl`). */
      issuer?: string
      /** Age at which the key is replaced, in ms (30 days). */
      rotateAfterMs?: number
      /** How long a replaced key stays in the JWKS, in ms (7 days). */
      graceMs?: number
    }
  }
}

interface RpcError {
  code: number
  message: string
}

/**
 * The relay's A2A endpoint as a fastify plugin: `GET /.well-known/agent-card.json` (the directory),
 * `GET /a2a/{agent}/.well-known/agent-card.json` and `POST /a2a/{agent}` (JSON-RPC, A2A 1.0) for every
 * registered agent whose profile lists A2A skills. Register it unwrapped so its parsers and error handler
 * stay in its own scope: `app.register(a2aPlugin, { spool, registry })`.
 */
export async function a2aPlugin(app: FastifyInstance, options: A2APluginOptions): Promise<void> {
  const clock = options.clock ?? options.spool.clock
  const logger = options.logger ?? silentLogger
  if (options.store === undefined && options.spool.storeKind !== 'sqlite') {
    // Without a store of its own a spool elsewhere than SQLite gets no A2A endpoint (the rest of the
    // relay still serves); a relay on PostgreSQL passes a PostgresA2AStore.
    ;(options.logger ?? silentLogger).warn(
      { spool: options.spool.storeKind },
      'A2A endpoint off: no A2A store for this spool (pass { store: PostgresA2AStore } from @agent-comm/postgres)',
    )
    return
  }
  const store = options.store ?? options.spool.openShared(SqliteA2AStore.shared())
  const tokens = new A2ATokens(store, { clock })
  const { signing, ...push } = options.push ?? {}
  const issuer = signing?.issuer ?? options.baseUrl
  const signer =
    signing === undefined
      ? undefined
      : await A2ASigningKeys.open({
          store,
          clock,
          sealer: signing.sealer,
          issuer,
          rotateAfterMs: signing.rotateAfterMs,
          graceMs: signing.graceMs,
        })
  const pushes = new A2APushes({
    store,
    clock,
    logger,
    ...push,
    signer,
  })
  const tasks = new A2ATasks({
    pushes,
    spool: options.spool,
    registry: options.registry,
    store,
    clock,
    logger,
    maxMessageBytes: options.maxMessageBytes,
    maxPushConfigsPerTask: options.maxPushConfigsPerTask,
    pollIntervalMs: options.pollIntervalMs,
  })
  const transport = new JsonRpcTransportHandler(new SpoolRequestHandler(tasks, { logger }))
  const version = options.version ?? '0.1.0'
  const keepAliveMs = options.keepAliveMs ?? 15_000
  const waits = new WaitSlots(options.maxWaitsPerCaller ?? 20)
  const closing = new AbortController()

  app.addHook('onReady', async () => tasks.start())
  app.addHook('preClose', async () => {
    closing.abort()
    await tasks.stop()
  })
  app.addHook('onClose', async () => {
    if (options.store === undefined) await store.close()
  })

  // Bodies stay bytes (as in the rest of the relay): parse errors must become JSON-RPC -32700, not 400.
  app.addContentTypeParser('application/a2a+json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  )

  app.setErrorHandler((error, request, reply) => {
    const code = (error as { code?: unknown }).code
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(
        rpcError(null, {
          code: A2A_ERROR_CODE.INVALID_REQUEST,
          message: `Request over ${options.bodyLimitBytes ?? 1048576} bytes`,
        }),
      )
    }
    const status = (error as { statusCode?: unknown }).statusCode
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply.code(status).send(
        rpcError(null, {
          code: A2A_ERROR_CODE.INVALID_REQUEST,
          message: error instanceof Error ? error.message : 'Bad request',
        }),
      )
    }
    request.log.error({ err: error }, 'a2a request failed')
    return reply.code(500).send(
      rpcError(null, {
        code: A2A_ERROR_CODE.INTERNAL_ERROR,
        message: `Internal error (request id ${request.id})`,
      }),
    )
  })

  const baseUrl = (request: FastifyRequest): string =>
    options.baseUrl ?? `${request.protocol}://${request.host}`

  const optedIn = async (agent: string) => {
    const profile = await options.registry.get(agent)
    return profile !== undefined && isA2AAgent(profile) ? profile : undefined
  }

  if (signer !== undefined) {
    // The public keys of push signatures: receivers fetch them (and cache them) to verify a push's JWT.
    app.get(JWKS_PATH, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=300').send(await signer.jwks()),
    )
  }

  app.get('/.well-known/agent-card.json', async (request, reply) => {
    const profiles = (await options.registry.list()).filter(isA2AAgent)
    return reply.send(cardJson(directoryCard(profiles, { baseUrl: baseUrl(request), version })))
  })

  app.get<{ Params: { agent: string } }>(
    '/a2a/:agent/.well-known/agent-card.json',
    async (request, reply) => {
      const invalid = agentIdProblem(request.params.agent)
      if (invalid !== undefined) return badAgentId(reply, invalid)
      const profile = await optedIn(request.params.agent)
      if (profile === undefined) return notAnAgent(reply, request.params.agent)
      return reply.send(cardJson(agentCard(profile, { baseUrl: baseUrl(request), version })))
    },
  )

  app.post<{ Params: { agent: string } }>(
    '/a2a/:agent',
    { bodyLimit: options.bodyLimitBytes ?? 1024 * 1024 },
    async (request, reply) => {
      const header = request.headers.authorization
      const bearer =
        typeof header === 'string' && /^Bearer\s+/i.test(header)
          ? header.replace(/^Bearer\s+/i, '').trim()
          : ''
      const token = bearer === '' ? undefined : await tokens.verify(bearer)
      if (token === undefined) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="agent-comm relay"')
          .send(
            rpcError(null, {
              code: A2A_ERROR_CODE.INVALID_REQUEST,
              // Which of unknown or revoked is not said: that would tell a guesser which tokens existed.
              message:
                bearer === ''
                  ? 'A bearer token is required: ask the relay operator for one (agent-comm relay a2a-token create NAME)'
                  : 'The bearer token is unknown or revoked: ask the relay operator for a new one (agent-comm relay a2a-token create NAME)',
            }),
          )
      }
      const agent = request.params.agent
      const invalid = agentIdProblem(agent)
      if (invalid !== undefined) return badAgentId(reply, invalid)
      const profile = await optedIn(agent)
      if (token.agents !== undefined && !token.agents.includes(agent)) {
        return reply.code(403).send(
          rpcError(null, {
            code: A2A_ERROR_CODE.INVALID_REQUEST,
            message: `Caller '${token.name}' may not call agent '${agent}'`,
          }),
        )
      }
      const cardOptions = { baseUrl: baseUrl(request), version }
      const card =
        profile === undefined ? formerAgentCard(agent, cardOptions) : agentCard(profile, cardOptions)
      const versionHeader = request.headers['a2a-version']
      // A request without the header speaks 0.3 (spec §3.6.2); this endpoint speaks 1.0 only.
      const requestedVersion =
        typeof versionHeader === 'string' && versionHeader.trim() !== '' ? versionHeader.trim() : '0.3'
      let body: unknown
      try {
        body = JSON.parse(
          Buffer.isBuffer(request.body) ? request.body.toString('utf8') : String(request.body ?? ''),
        )
      } catch {
        return reply.send(
          rpcError(null, { code: A2A_ERROR_CODE.PARSE_ERROR, message: 'Parse error: the body is not JSON' }),
        )
      }
      const id = requestId(body)
      const envelope = envelopeProblem(body)
      if (envelope !== undefined) {
        return reply.send(rpcError(null, { code: A2A_ERROR_CODE.INVALID_REQUEST, message: envelope }))
      }
      try {
        validateVersion(requestedVersion, card, 'JSONRPC')
      } catch (error) {
        return reply.send(rpcError(id, JsonRpcTransportHandler.mapToJSONRPCError(error)))
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return reply.send(
          rpcError(id, {
            code: A2A_ERROR_CODE.INVALID_REQUEST,
            message: 'A JSON-RPC request is an object (batches are not supported)',
          }),
        )
      }
      // Free-form JSON within the protocol's limits, and no deeper nesting anywhere, before the SDK decodes it.
      const jsonProblem = requestJsonProblem(body)
      if (jsonProblem !== undefined) {
        return reply.send(rpcError(id, { code: A2A_ERROR_CODE.INVALID_PARAMS, message: jsonProblem }))
      }
      const rpcRequest = body as { method: string; params?: unknown }
      // An agent that is gone (deregistered, or no longer opted in) takes nothing new; its callers still
      // read, follow and cancel the tasks they sent it (a task of no such agent is then not found).
      if (profile === undefined && !TASK_READS.has(rpcRequest.method)) return notAnAgent(reply, agent)
      const paramsIssue = paramsProblem(rpcRequest.method, rpcRequest.params)
      if (paramsIssue !== undefined) {
        return reply.send(rpcError(id, { code: A2A_ERROR_CODE.INVALID_PARAMS, message: paramsIssue }))
      }
      const lastEventHeader = request.headers['last-event-id']
      let lastEventId: number | undefined
      if (rpcRequest.method === 'SubscribeToTask' && lastEventHeader !== undefined) {
        lastEventId = eventId(lastEventHeader)
        if (lastEventId === undefined) {
          return reply.send(
            rpcError(id, {
              code: A2A_ERROR_CODE.INVALID_PARAMS,
              message:
                'The Last-Event-ID header must be the id of an event of this stream (a non-negative integer); leave it out to subscribe from now',
            }),
          )
        }
      }
      // A request that waits on a task takes one of its caller's slots before anything is sent: refused,
      // the caller can retry it as it is (nothing reached the agent) or send with returnImmediately.
      let release = (): void => {}
      if (waitsOnTask(rpcRequest.method, rpcRequest.params)) {
        const slot = waits.acquire(token.name)
        if (slot === undefined) return tooManyWaits(reply, id, token.name, waits.max)
        release = slot
        reply.raw.once('close', slot)
      }
      const disconnect = new AbortController()
      request.raw.on('close', () => disconnect.abort())
      reply.raw.on('close', () => disconnect.abort())
      const seqs: number[] = []
      const context = withCallState(new ServerCallContext({ requestedVersion, state: new Map() }), {
        caller: { name: token.name, agents: token.agents },
        agent,
        card,
        requestId: String(request.id),
        seqs,
        lastEventId,
        signal: AbortSignal.any([disconnect.signal, closing.signal]),
      })
      let result: Awaited<ReturnType<typeof transport.handle>>
      try {
        result = await transport.handle(body as Record<string, unknown>, context)
      } catch (error) {
        release()
        throw error
      }
      if (!('id' in body)) {
        // A notification (no id) is carried out but never answered, not even with an error (JSON-RPC 2.0
        // §4.1); an internal error was logged by the handler. A stream is started (its send happens on
        // the first event) and closed.
        if (Symbol.asyncIterator in result) {
          const stream = result[Symbol.asyncIterator]()
          await stream.next().then(
            () => stream.return?.(undefined),
            () => undefined,
          )
        }
        return reply.code(204).send()
      }
      if (!(Symbol.asyncIterator in result)) {
        // Given back before the answer is written: a caller that has its answer may send the next one.
        release()
        return reply.send(result)
      }
      const iterator = result[Symbol.asyncIterator]()
      // An error before the first event (unknown task, bad params) is an ordinary JSON-RPC answer.
      let first: Awaited<ReturnType<typeof iterator.next>>
      try {
        first = await iterator.next()
      } catch (error) {
        release()
        return reply.send(rpcError(id, JsonRpcTransportHandler.mapToJSONRPCError(error)))
      }
      if (!first.done && 'error' in first.value && first.value.error !== undefined) {
        await iterator.return?.(undefined)
        release()
        return reply.send(first.value)
      }
      reply.hijack()
      const raw = reply.raw
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), keepAliveMs)
      const write = (event: unknown): void => {
        const seq = seqs.shift()
        raw.write(`${seq === undefined ? '' : `id: ${seq}\n`}data: ${JSON.stringify(event)}\n\n`)
      }
      try {
        if (!first.done) write(first.value)
        for (;;) {
          const next = await iterator.next()
          if (next.done) break
          write(next.value)
        }
      } catch (error) {
        logger.warn({ error: errorMessage(error) }, 'a2a stream failed')
        raw.write(
          `data: ${JSON.stringify(rpcError(id, JsonRpcTransportHandler.mapToJSONRPCError(error)))}\n\n`,
        )
      } finally {
        clearInterval(keepAlive)
        release()
        raw.end()
      }
      return reply
    },
  )
}

function cardJson(card: AgentCard): unknown {
  // The SDK's codec writes the card in its JSON form (camelCase, oneofs flattened).
  return AgentCardJson.toJSON(card)
}

/** Why `agent` (from the path) cannot be an agent id, or undefined when it can. */
function agentIdProblem(agent: string): string | undefined {
  const checked = AgentIdSchema.safeParse(agent)
  return checked.success ? undefined : (checked.error.issues[0]?.message ?? 'not an agent id')
}

/** 400 for a path whose agent id no agent can have: the caller's mistake, never a 500. */
function badAgentId(reply: FastifyReply, problem: string) {
  return reply.code(400).send(
    rpcError(null, {
      code: A2A_ERROR_CODE.INVALID_REQUEST,
      message: `Invalid agent id in the path: it ${problem}. Use the URL of the agent's card (/a2a/{agent}/.well-known/agent-card.json)`,
    }),
  )
}

/**
 * What makes `body` an invalid JSON-RPC 2.0 request (-32600), or undefined: `jsonrpc` must be "2.0",
 * `method` a string, and `id` (when given) a string, an integer or null. An integer beyond 2^53 is
 * refused too: JSON.parse has already rounded it, so the answer could not echo the id that was sent.
 */
function envelopeProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const request = body as Record<string, unknown>
  if (request.jsonrpc !== '2.0') return 'Invalid Request: "jsonrpc" must be "2.0"'
  if (typeof request.method !== 'string') return 'Invalid Request: "method" must be a string'
  if ('id' in request) {
    const id = request.id
    const valid =
      id === null || typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id))
    if (!valid) {
      return 'Invalid Request: "id" must be a string, an integer (at most 2^53 - 1 in size) or null'
    }
  }
  return undefined
}

/** An SSE `Last-Event-ID` as an event sequence number: a non-negative safe integer, else undefined. */
function eventId(header: string | string[]): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,16}$/.test(header.trim())) return undefined
  const value = Number(header.trim())
  return Number.isSafeInteger(value) ? value : undefined
}

/**
 * The methods that only read or settle a caller's existing tasks: answered for an agent that is gone too,
 * so a caller can still see how its tasks ended.
 */
const TASK_READS: ReadonlySet<string> = new Set([
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
])

function notAnAgent(reply: FastifyReply, agent: string) {
  return reply.code(404).send(
    rpcError(null, {
      code: A2A_ERROR_CODE.INVALID_REQUEST,
      message: `No A2A agent '${agent}' on this relay: it is not registered or lists no A2A skill (agent-comm register ${agent} … --a2a-skill ID). Tasks already sent to it can still be read: ${[...TASK_READS].slice(0, 4).join(', ')}`,
    }),
  )
}

/** Whether a request waits on a task: a stream, or a `SendMessage` that does not return immediately. */
function waitsOnTask(method: string, params: unknown): boolean {
  if (method === 'SendStreamingMessage' || method === 'SubscribeToTask') return true
  if (method !== 'SendMessage') return false
  const configuration = (params as { configuration?: Record<string, unknown> } | undefined)?.configuration
  return configuration?.returnImmediately !== true && configuration?.return_immediately !== true
}

/** JSON-RPC's code for an error of the server's own (-32000 to -32099); A2A 1.0 has none for a limit. */
export const TOO_MANY_WAITS_CODE = -32000

/**
 * 429 for a caller over its waits: a clear error rather than a task answered before it ended, which a
 * client that asked to wait would take for the final answer.
 */
function tooManyWaits(reply: FastifyReply, id: string | number | null, caller: string, max: number) {
  return reply
    .code(429)
    .header('retry-after', '1')
    .send(
      rpcError(id, {
        code: TOO_MANY_WAITS_CODE,
        message: `Caller '${caller}' already has ${max} requests waiting on tasks here (SendMessage without returnImmediately, SendStreamingMessage, SubscribeToTask); nothing was sent. Retry when one has ended, or send with configuration.returnImmediately: true and follow the task with GetTask or a push config`,
      }),
    )
}

function rpcError(id: string | number | null, error: RpcError) {
  return { jsonrpc: '2.0', id, error }
}

function requestId(body: unknown): string | number | null {
  if (typeof body !== 'object' || body === null || !('id' in body)) return null
  const id = (body as { id: unknown }).id
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null
}
