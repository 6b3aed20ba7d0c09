import type { Clock, TraceMetadata } from '@agent-comm/protocol'
import { AgentIdSchema, ClosedError, ConfigError, parseOrThrow, ValidationError } from '@agent-comm/protocol'
import { retryAfterMs } from '@agent-comm/protocol/retry-after'
import { type Dispatcher, Pool } from 'undici'
import type { z } from 'zod'
import { ErrorResponseSchema, RelayErrorCode } from './api.js'
import { secretEnvName } from './env.js'
import { errorFromResponse, explainOlderRelay, RelayError, UNAVAILABLE_STATUSES } from './errors.js'
import { AUDIENCE_PATTERN, signRequest } from './hmac.js'
import { DEFAULT_MAX_RESPONSE_BYTES, ResponseTooLargeError, readResponseText } from './response-body.js'
import { type ServerSentEvent, ServerSentEventParser } from './sse.js'
import { traceHeaders } from './trace-headers.js'

/** How the pipeline reaches the relay and signs for agents (see `RelayClientOptions`). */
export interface PipelineOptions {
  baseUrl: string | URL | readonly (string | URL)[]
  secretFor: (agentId: string) => string | undefined
  clock: Clock
  connections?: number | undefined
  retries?: number | undefined
  retryDelayMs?: number | undefined
  timeoutMs?: number | undefined
  dispatcher?: Dispatcher | undefined
  audience?: string | undefined
  maxResponseBytes?: number | undefined
  /** Longest `Retry-After` honoured before a retry, in ms (10 000); a longer one is cut to it. */
  maxRetryAfterMs?: number | undefined
  /** Waits between attempts: a timer by default; rejects with `signal`'s reason when it aborts. */
  sleep?: ((ms: number, signal: AbortSignal | undefined) => Promise<void>) | undefined
}

/** Query parameters of a request; undefined ones are left out. */
export type Query = Record<string, string | number | undefined>

/** One request to the relay, as an endpoint describes it. */
export interface RequestSpec<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  query?: Query | undefined
  /** The agent whose secret signs the request; `null` for the unauthenticated endpoints. */
  as: string | null
  body?: unknown
  /** Safe to send twice: retried on any connection failure, not only a failure to connect. */
  idempotent: boolean
  schema: S
  signal?: AbortSignal | undefined
  /**
   * Extra time the relay may hold the request (long poll), in ms. It is also the call's own wait: a wait
   * the relay refuses for want of a slot (429 TOO_MANY_WAITS) is asked again within it.
   */
  holdMs?: number | undefined
  /** The request again with its wait cut to `holdMs` (what is left of it): how a refused wait is retried. */
  rehold?: ((holdMs: number) => { body?: unknown; query?: Query }) | undefined
  /** The trace context to send (a message's); default: the active OpenTelemetry span's, if any. */
  trace?: TraceMetadata | undefined
}

/** Errors that mean the request never reached the relay: safe to retry any call. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** Errors after which the request may or may not have been handled: retried for idempotent calls only. */
const CONNECTION_LOST_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/** One relay a client may talk to. */
interface RelayTarget {
  origin: string
  /** Path prefix of its API, kept and signed. */
  prefix: string
  dispatcher: Dispatcher
}

/**
 * The request pipeline under every `RelayClient` call: signing (afresh on every attempt), keep-alive
 * connections to one or several relays, failover between them, retries with exponential backoff and
 * jitter, and error responses mapped to the typed errors the local transports throw.
 */
export class RequestPipeline {
  /** Every base URL given, in order, without a trailing slash. */
  readonly baseUrls: readonly string[]
  readonly #targets: readonly RelayTarget[]
  /** Index in `#targets` of the relay requests go to now. */
  #current = 0
  readonly #secretFor: (agentId: string) => string | undefined
  readonly #clock: Clock
  readonly #ownsDispatcher: boolean
  readonly #retries: number
  readonly #retryDelayMs: number
  readonly #timeoutMs: number
  readonly #audience: string | undefined
  readonly #maxResponseBytes: number
  readonly #maxRetryAfterMs: number
  readonly #sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>
  #closed = false

  constructor(options: PipelineOptions) {
    const urls = relayUrls(options.baseUrl)
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#targets = urls.map((url) => ({
      origin: url.origin,
      prefix: url.pathname.replace(/\/+$/, ''),
      dispatcher:
        options.dispatcher ??
        new Pool(url.origin, {
          connections: options.connections ?? 64,
          keepAliveTimeout: 30_000,
          pipelining: 1,
        }),
    }))
    this.baseUrls = this.#targets.map((t) => `${t.origin}${t.prefix}`)
    this.#secretFor = options.secretFor
    this.#clock = options.clock
    this.#retries = options.retries ?? 3
    this.#retryDelayMs = options.retryDelayMs ?? 50
    this.#timeoutMs = options.timeoutMs ?? 15_000
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS
    this.#sleep = options.sleep ?? sleep
    if (!Number.isSafeInteger(this.#maxResponseBytes) || this.#maxResponseBytes < 1) {
      throw new ConfigError(`Invalid relay client maxResponseBytes: ${this.#maxResponseBytes}`, {
        hint: 'Give a whole number of bytes, at least 1 (default 256 MiB).',
      })
    }
    if (options.audience !== undefined && !AUDIENCE_PATTERN.test(options.audience)) {
      throw new ConfigError(`Invalid relay audience '${options.audience}'`, {
        hint: "Give the relay's --audience: 1-256 printable characters without spaces.",
      })
    }
    this.#audience = options.audience
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed
  }

  /** Throws `CLOSED` once the pipeline is closed. */
  ensureOpen(): void {
    if (this.#closed) throw new ClosedError('This relay client')
  }

  /** Closes the keep-alive connections (a dispatcher passed in stays open). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownsDispatcher) await Promise.all(this.#targets.map((t) => t.dispatcher.destroy()))
  }

  /** Sends one request (retried and failed over as its spec allows) and parses its answer with `spec.schema`. */
  async call<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.output<S>> {
    this.ensureOpen()
    let body = spec.body === undefined ? '' : JSON.stringify(spec.body)
    let query = spec.query
    let holdMs = spec.holdMs ?? 0
    // With several relays, each gets a try before the retries proper: a failover costs no backoff.
    const attempts = this.#retries + this.#targets.length
    let failedOver = 0
    // Refusals for want of a wait slot, and the time waited after them out of the call's own wait.
    const refused = { times: 0, waitedMs: 0 }
    for (let attempt = 0; ; attempt++) {
      spec.signal?.throwIfAborted()
      const targetIndex = this.#current
      const target = this.#targets[targetIndex] as RelayTarget
      const path = pathWithQuery(target.prefix, spec.path, query)
      // Signed afresh on every attempt: a retry is a new request with its own nonce and timestamp.
      const headers: Record<string, string> =
        spec.as === null ? {} : this.#sign(spec.as, spec.method, path, body)
      if (body !== '') headers['content-type'] = 'application/json'
      const traced = traceHeaders(spec.trace)
      if (traced !== undefined) Object.assign(headers, traced)
      let response: Dispatcher.ResponseData
      let text: string
      try {
        response = await target.dispatcher.request({
          origin: target.origin,
          method: spec.method,
          path,
          headers,
          body: body === '' ? null : body,
          signal: spec.signal ?? null,
          headersTimeout: this.#timeoutMs + holdMs,
          bodyTimeout: this.#timeoutMs,
        })
        text = await readResponseText(response, this.#maxResponseBytes)
      } catch (error) {
        if (spec.signal?.aborted) throw spec.signal.reason
        if (error instanceof ResponseTooLargeError) throw this.#invalidResponse(target, error.message, error)
        if (this.#closed) throw new ClosedError('This relay client')
        const code = (error as { code?: string }).code ?? ''
        const retryable = CONNECT_ERRORS.has(code) || (spec.idempotent && CONNECTION_LOST_ERRORS.has(code))
        if (!retryable || attempt + 1 >= attempts) throw this.#networkError(error, target)
        if (this.#targets.length > 1) {
          // Move on to the next relay (unless another call already did), and back off only once every
          // relay has been tried.
          this.#failOver(targetIndex)
          failedOver++
          if (failedOver < this.#targets.length) continue
          failedOver = 0
        }
        await this.#backoff(attempt, spec.signal)
        continue
      }
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return this.#parse(spec.schema, text, target, response.statusCode)
      }
      if (holdMs > 0 && isTooManyWaits(response.statusCode, text)) {
        // Refused before it waited or claimed anything: asked again after Retry-After, as long as the
        // caller's own wait lasts, with what is left of it; not one of the retries proper.
        const delay = this.#delay(refused.times++, retryAfterOf(response.headers, this.#clock))
        const left = Math.floor((spec.holdMs ?? 0) - refused.waitedMs - delay)
        if (left > 0) {
          await this.#sleep(delay, spec.signal)
          refused.waitedMs += delay
          holdMs = left
          const again = spec.rehold?.(left)
          if (again?.body !== undefined) body = JSON.stringify(again.body)
          if (again?.query !== undefined) query = again.query
          attempt--
          continue
        }
      }
      const shed = response.statusCode === 503 && isShed(text)
      if (
        UNAVAILABLE_STATUSES.has(response.statusCode) &&
        (spec.idempotent || shed) &&
        attempt + 1 < attempts
      ) {
        // A replica shutting down (or without its database) says 503, a proxy whose replica died under
        // the request 502 or 504: the next one may serve. An idempotent call is safe to send again; so is
        // any call an overloaded relay shed, which it refused before reading it. Its Retry-After is
        // honoured (up to a bound), the backoff's delay being the least wait.
        this.#failOver(targetIndex)
        await this.#backoff(attempt, spec.signal, retryAfterOf(response.headers, this.#clock))
        continue
      }
      const error = explainOlderRelay(
        errorFromResponse(response.statusCode, text, headerOf(response.headers, 'x-request-id')),
        {
          relay: `${target.origin}${target.prefix}`,
          method: spec.method,
          path: `${target.prefix}${spec.path}`,
        },
      )
      if (shed && attempt > 0 && error instanceof RelayError) throw overloadedThroughout(error, attempt + 1)
      if (refused.times > 1 && error instanceof RelayError && isTooManyWaits(response.statusCode, text)) {
        throw waitRefusedThroughout(error, refused.times, spec.holdMs ?? 0)
      }
      throw error
    }
  }

  /** An idempotent `GET`, signed as `as` (`null`: unsigned), its answer parsed with `schema`. */
  read<S extends z.ZodType>(
    path: string,
    as: string | null,
    schema: S,
    options: { query?: Query; signal?: AbortSignal | undefined } = {},
  ): Promise<z.output<S>> {
    return this.call({
      method: 'GET',
      path,
      as,
      idempotent: true,
      schema,
      query: options.query,
      signal: options.signal,
    })
  }

  /**
   * A signed `GET` of a server-sent event stream, as `agent`: its events in order, until the relay ends it
   * or `signal` aborts (then it just ends, yielding nothing more). Each relay gets one try at opening it; an
   * `error` event is thrown as the relay's error. When it ends early (the reader stopped, `signal` aborted)
   * with events that had arrived but were not yielded, `unread` is given them.
   */
  async *events(
    agent: string,
    path: string,
    query: Query,
    signal: AbortSignal | undefined,
    unread?: (events: ServerSentEvent[]) => void,
  ): AsyncGenerator<ServerSentEvent, void, undefined> {
    this.ensureOpen()
    let response: Dispatcher.ResponseData | undefined
    let target = this.#targets[this.#current] as RelayTarget
    let refusals = 0
    for (let tried = 1; response === undefined; tried++) {
      const targetIndex = this.#current
      target = this.#targets[targetIndex] as RelayTarget
      const signed = pathWithQuery(target.prefix, path, query)
      try {
        response = await target.dispatcher.request({
          origin: target.origin,
          method: 'GET',
          path: signed,
          headers: { accept: 'text/event-stream', ...this.#sign(agent, 'GET', signed, '') },
          signal: signal ?? null,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: 0,
        })
      } catch (error) {
        if (signal?.aborted) return
        const code = (error as { code?: string }).code ?? ''
        if (!CONNECT_ERRORS.has(code) || tried >= this.#targets.length)
          throw this.#networkError(error, target)
        this.#failOver(targetIndex)
        continue
      }
      if (response.statusCode === 200) break
      let text: string
      try {
        text = await readResponseText(response, this.#maxResponseBytes)
      } catch (error) {
        if (error instanceof ResponseTooLargeError) throw this.#invalidResponse(target, error.message, error)
        throw this.#networkError(error, target)
      }
      // A stream refused for want of a wait slot opened nothing: asked again after Retry-After, as many
      // times as a call is retried (a stream has no wait of its own to bound it), until `signal` aborts.
      const waitRefused = isTooManyWaits(response.statusCode, text)
      if (waitRefused && refusals < this.#retries) {
        try {
          await this.#sleep(this.#delay(refusals++, retryAfterOf(response.headers, this.#clock)), signal)
        } catch (error) {
          if (signal?.aborted) return
          throw error
        }
        response = undefined
        tried--
        continue
      }
      const error = explainOlderRelay(
        errorFromResponse(response.statusCode, text, headerOf(response.headers, 'x-request-id')),
        { relay: `${target.origin}${target.prefix}`, method: 'GET', path: `${target.prefix}${path}` },
      )
      throw waitRefused && refusals > 0 && error instanceof RelayError
        ? waitRefusedThroughout(error, refusals + 1)
        : error
    }
    // One event is bounded as a whole answer is: a stream that never ends a line is cut there.
    const parser = new ServerSentEventParser({ maxEventChars: this.#maxResponseBytes })
    // The events of the last chunk, not yet yielded.
    let arrived: ServerSentEvent[] = []
    try {
      for await (const chunk of response.body) {
        arrived = parser.push(chunk)
        while (arrived.length > 0 && signal?.aborted !== true) {
          const event = arrived.shift() as ServerSentEvent
          if (event.event === 'error') throw errorFromResponse(503, event.data)
          yield event
        }
        if (signal?.aborted) return
      }
    } catch (error) {
      if (signal?.aborted || this.#closed) return
      if (error instanceof ResponseTooLargeError) throw this.#invalidResponse(target, error.message, error)
      throw error instanceof RelayError || error instanceof ValidationError
        ? error
        : this.#networkError(error, target)
    } finally {
      response.body.destroy()
      if (arrived.length > 0) unread?.(arrived)
    }
  }

  /** Moves on from the relay at `from` to the next one, unless another call already did. */
  #failOver(from: number): void {
    if (this.#targets.length > 1 && this.#current === from) this.#current = (from + 1) % this.#targets.length
  }

  #sign(agent: string, method: string, path: string, body: string): Record<string, string> {
    // A malformed id is the caller's input error, not a missing secret: say so before looking one up.
    parseOrThrow(AgentIdSchema, agent, 'agent id')
    const secret = this.#secretFor(agent)
    if (secret === undefined || secret === '') {
      throw new ConfigError(`No relay secret for agent '${agent}'`, {
        hint: `Set ${secretEnvName(agent)} to the secret printed by 'agent-comm relay gen-secret ${agent}' on the relay.`,
        details: { agentId: agent, variable: secretEnvName(agent) },
      })
    }
    return signRequest(secret, {
      method,
      path,
      body,
      agentId: agent,
      timestamp: this.#clock.now(),
      audience: this.#audience,
    })
  }

  /** Waits before attempt `attempt + 1` ({@link #delay}). */
  async #backoff(attempt: number, signal: AbortSignal | undefined, retryAfter?: number): Promise<void> {
    await this.#sleep(this.#delay(attempt, retryAfter), signal)
  }

  /**
   * The wait before attempt `attempt + 1`: exponential backoff with jitter, or longer if the relay said so
   * (its Retry-After, cut to `maxRetryAfterMs`).
   */
  #delay(attempt: number, retryAfter?: number): number {
    const delay = Math.min(this.#retryDelayMs * 2 ** attempt, 2_000) * (0.5 + Math.random() / 2)
    return Math.max(delay, Math.min(retryAfter ?? 0, this.#maxRetryAfterMs))
  }

  /**
   * A 2xx answer parsed with `schema`. One that is not JSON, or not the shape this client expects, is not a
   * bug here: whatever answers at the URL is not an agent-comm relay (a proxy, a login page, another
   * version), which {@link #invalidResponse} says.
   */
  #parse<S extends z.ZodType>(schema: S, text: string, target: RelayTarget, status: number): z.output<S> {
    let json: unknown
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch (error) {
      throw this.#invalidResponse(
        target,
        `status ${status} with a body that is not JSON (${describe(error)})`,
        error,
        status,
      )
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`
      throw this.#invalidResponse(
        target,
        `status ${status} with JSON this client does not expect${where}: ${issue?.message ?? 'invalid'}`,
        parsed.error,
        status,
      )
    }
    return parsed.data
  }

  /** The relay at `target` answered something no agent-comm relay sends: `UNAVAILABLE`, naming the URL. */
  #invalidResponse(target: RelayTarget, what: string, cause: unknown, status?: number): RelayError {
    return new RelayError(
      'STORAGE',
      RelayErrorCode.UNAVAILABLE,
      status,
      `The relay at ${target.origin}${target.prefix} answered an invalid response: ${what}`,
      {
        hint: 'Check that this URL points to an agent-comm relay of a matching version (not a proxy, a login page or another service), and look at its log.',
        cause,
        details: { invalidResponse: true },
      },
    )
  }

  #networkError(error: unknown, target: RelayTarget): RelayError {
    const code = (error as { code?: string }).code
    const reason = error instanceof Error ? error.message : String(error)
    return new RelayError(
      'STORAGE',
      RelayErrorCode.UNAVAILABLE,
      undefined,
      `Cannot reach the relay at ${target.origin}${target.prefix}${this.#targets.length > 1 ? ` (nor the other ${this.#targets.length - 1} given)` : ''}: ${reason}`,
      {
        hint: 'Check that the relay is running (agent-comm relay start) and that this URL and port are reachable.',
        cause: error,
        details: code === undefined ? undefined : { networkCode: code },
      },
    )
  }
}

/** Longest `Retry-After` a retry waits for by default, in ms. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 10_000

/** Waits `ms`, or rejects with `signal`'s reason once it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** A 503's `Retry-After` in ms (see `@agent-comm/protocol/retry-after`), read against `clock`. */
function retryAfterOf(
  headers: Record<string, string | string[] | undefined>,
  clock: Clock,
): number | undefined {
  return retryAfterMs(headerOf(headers, 'retry-after'), clock.now())
}

/** Whether a 503's body says an overloaded relay shed the request (so it did nothing with it). */
function isShed(text: string): boolean {
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(text))
    return parsed.success && parsed.data.error.details?.overloaded === true
  } catch {
    return false
  }
}

/** Whether an answer is the relay refusing a long poll or stream for want of a wait slot (429 TOO_MANY_WAITS). */
function isTooManyWaits(status: number, text: string): boolean {
  if (status !== 429) return false
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(text))
    return parsed.success && parsed.data.error.code === RelayErrorCode.TOO_MANY_WAITS
  } catch {
    return false
  }
}

/**
 * The relay's TOO_MANY_WAITS once every retry was refused too: says how many attempts were made over how
 * much of the call's wait, keeping the relay's hint (which names --max-waits).
 */
function waitRefusedThroughout(error: RelayError, attempts: number, waitMs?: number): RelayError {
  const over = waitMs === undefined ? '' : ` over its ${waitMs} ms wait`
  return new RelayError(
    error.code,
    error.relayCode,
    error.status,
    `${error.message} (refused all ${attempts} attempts${over})`,
    {
      hint:
        error.hint ??
        'Wait on fewer at once: one consumer needs one long poll or one stream. Nothing was claimed.',
      details: { ...error.details, attempts, ...(waitMs === undefined ? {} : { waitMs }) },
      cause: error,
    },
  )
}

/** The relay's overload error once every retry was shed too: says how many attempts were made. */
function overloadedThroughout(error: RelayError, attempts: number): RelayError {
  return new RelayError(
    error.code,
    error.relayCode,
    error.status,
    `${error.message} (refused all ${attempts} attempts)`,
    {
      hint:
        error.hint ??
        "Send it again in a while: nothing was done. If it lasts, the relay's operator adds replicas or raises its overload limits.",
      details: { ...error.details, attempts },
      cause: error,
    },
  )
}

function pathWithQuery(prefix: string, path: string, query: Query | undefined): string {
  if (query === undefined) return `${prefix}${path}`
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value))
  }
  const search = params.toString()
  return `${prefix}${path}${search === '' ? '' : `?${search}`}`
}

/** The base URLs of `baseUrl`: one URL, a list, or a comma-separated string; each http(s). */
function relayUrls(baseUrl: PipelineOptions['baseUrl']): URL[] {
  const given = (
    typeof baseUrl === 'string' ? baseUrl.split(',') : Array.isArray(baseUrl) ? baseUrl : [baseUrl]
  )
    .map((u) => String(u).trim())
    .filter((u) => u !== '')
  if (given.length === 0) {
    throw new ConfigError('No relay URL given', {
      hint: 'Give the relay base URL, e.g. http://relay.internal:8420',
    })
  }
  return given.map((text) => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new ConfigError(`Invalid relay URL '${text}'`, {
        hint: 'Give the relay base URL, e.g. http://relay.internal:8420 (several: comma-separated)',
      })
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`Invalid relay URL '${url.href}': must be http or https`)
    }
    return url
  })
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return typeof value === 'string' ? value : undefined
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
