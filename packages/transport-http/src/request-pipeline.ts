import type { Clock, TraceMetadata } from '@agent-comm/protocol'
import { ClosedError, ConfigError, ValidationError } from '@agent-comm/protocol'
import type { Dispatcher } from 'undici'
import type { z } from 'zod'
import { errorFromResponse, RelayError, UNAVAILABLE_STATUSES } from './errors.js'
import {
  errorOfAnswer,
  invalidResponse,
  networkError,
  overloadedThroughout,
  parseAnswer,
  waitRefusedThroughout,
} from './pipeline-errors.js'
import {
  baseUrlOf,
  pathWithQuery,
  type Query,
  type RelayBaseUrl,
  type RelayTarget,
  relayTargets,
} from './relay-targets.js'
import { RequestSigner } from './request-signer.js'
import { DEFAULT_MAX_RESPONSE_BYTES, ResponseTooLargeError, readResponseText } from './response-body.js'
import {
  Backoff,
  CONNECT_ERRORS,
  CONNECTION_LOST_ERRORS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  isShed,
  isTooManyWaits,
  retryAfterOf,
} from './retries.js'
import { type ServerSentEvent, ServerSentEventParser } from './sse.js'
import { traceHeaders } from './trace-headers.js'

export type { Query } from './relay-targets.js'
export { DEFAULT_MAX_RETRY_AFTER_MS }

// The pipeline composes its seams, a file each: the relays and their connections (relay-targets.ts),
// signing (request-signer.ts), retries and backoff (retries.ts), and the errors made of a failed exchange
// (pipeline-errors.ts). This file holds the attempt loops that use them.

/** How the pipeline reaches the relay and signs for agents (see `RelayClientOptions`). */
export interface PipelineOptions {
  baseUrl: RelayBaseUrl
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
  readonly #signer: RequestSigner
  readonly #backoff: Backoff
  readonly #clock: Clock
  readonly #ownsDispatcher: boolean
  readonly #retries: number
  readonly #timeoutMs: number
  readonly #maxResponseBytes: number
  #closed = false

  constructor(options: PipelineOptions) {
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#targets = relayTargets(options.baseUrl, options)
    this.baseUrls = this.#targets.map(baseUrlOf)
    this.#clock = options.clock
    this.#retries = options.retries ?? 3
    this.#timeoutMs = options.timeoutMs ?? 15_000
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    this.#backoff = new Backoff(options)
    if (!Number.isSafeInteger(this.#maxResponseBytes) || this.#maxResponseBytes < 1) {
      throw new ConfigError(`Invalid relay client maxResponseBytes: ${this.#maxResponseBytes}`, {
        hint: 'Give a whole number of bytes, at least 1 (default 256 MiB).',
      })
    }
    this.#signer = new RequestSigner(options)
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
        spec.as === null ? {} : this.#signer.sign(spec.as, spec.method, path, body)
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
        if (error instanceof ResponseTooLargeError)
          throw invalidResponse(baseUrlOf(target), error.message, error)
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
        await this.#backoff.wait(attempt, spec.signal)
        continue
      }
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return parseAnswer(spec.schema, text, { relay: baseUrlOf(target), status: response.statusCode })
      }
      if (holdMs > 0 && isTooManyWaits(response.statusCode, text)) {
        // Refused before it waited or claimed anything: asked again after Retry-After, as long as the
        // caller's own wait lasts, with what is left of it; not one of the retries proper.
        const delay = this.#backoff.delay(refused.times++, retryAfterOf(response.headers, this.#clock))
        const left = Math.floor((spec.holdMs ?? 0) - refused.waitedMs - delay)
        if (left > 0) {
          await this.#backoff.sleep(delay, spec.signal)
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
        await this.#backoff.wait(attempt, spec.signal, retryAfterOf(response.headers, this.#clock))
        continue
      }
      const error = errorOfAnswer(response, text, {
        relay: baseUrlOf(target),
        method: spec.method,
        path: `${target.prefix}${spec.path}`,
      })
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
          headers: { accept: 'text/event-stream', ...this.#signer.sign(agent, 'GET', signed, '') },
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
        if (error instanceof ResponseTooLargeError)
          throw invalidResponse(baseUrlOf(target), error.message, error)
        throw this.#networkError(error, target)
      }
      // A stream refused for want of a wait slot opened nothing: asked again after Retry-After, as many
      // times as a call is retried (a stream has no wait of its own to bound it), until `signal` aborts.
      const waitRefused = isTooManyWaits(response.statusCode, text)
      if (waitRefused && refusals < this.#retries) {
        try {
          await this.#backoff.sleep(
            this.#backoff.delay(refusals++, retryAfterOf(response.headers, this.#clock)),
            signal,
          )
        } catch (error) {
          if (signal?.aborted) return
          throw error
        }
        response = undefined
        tried--
        continue
      }
      const error = errorOfAnswer(response, text, {
        relay: baseUrlOf(target),
        method: 'GET',
        path: `${target.prefix}${path}`,
      })
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
      if (error instanceof ResponseTooLargeError)
        throw invalidResponse(baseUrlOf(target), error.message, error)
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

  /** `networkError` for `target`, naming how many other relays were given. */
  #networkError(error: unknown, target: RelayTarget): RelayError {
    return networkError(error, baseUrlOf(target), this.#targets.length - 1)
  }
}
