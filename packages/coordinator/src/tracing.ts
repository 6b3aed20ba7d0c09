import type { ClaimedMessage, MessageV2, TraceMetadata } from '@agent-comm/protocol'
import { parseTraceparent, TRACE_METADATA_KEY, traceMetadataOf } from '@agent-comm/protocol'
import type * as OpenTelemetryApi from '@opentelemetry/api'
import type { Attributes, Context, SpanKind as OtelSpanKind, Span } from '@opentelemetry/api'
import { loadOpenTelemetryApi } from './deferred-imports.js'

/**
 * Spans go through `@opentelemetry/api` only: without a tracer provider registered by the application they
 * are no-op spans, and a message gets `metadata.trace` only when a valid span context is active (an
 * incoming `traceparent`, or a recording span), so untraced sends serialize nothing.
 *
 * The API is loaded only when it can matter, not when the coordinator is imported: its 51 module files cost
 * a one-shot process such as `agent-comm send` about 20 ms of CPU (see `deferred-imports.ts`). Until then
 * an operation's span is `undefined` and its parent context too (see {@link Parent}).
 */
let api: typeof OpenTelemetryApi | undefined

function otel(): typeof OpenTelemetryApi {
  api ??= loadOpenTelemetryApi()
  return api
}

/**
 * Where `@opentelemetry/api` (major version 1, every build and copy of it) keeps what is registered with
 * it: a tracer provider, a context manager, a propagator, a logger. Nothing is there until the first
 * registration (the API's `registerGlobal`), so while it is absent every span is a no-op outside any trace
 * and the active context is the root one, whether the API is loaded or not. The span tests register
 * providers through this same slot, so a changed key fails them.
 */
const OPENTELEMETRY_GLOBAL = Symbol.for('opentelemetry.js.api.1')

/** The API when it is loaded or anything is registered with it, else undefined (nothing to trace with). */
function otelInUse(): typeof OpenTelemetryApi | undefined {
  if (api === undefined && (globalThis as Record<symbol, unknown>)[OPENTELEMETRY_GLOBAL] === undefined) {
    return undefined
  }
  return otel()
}

/**
 * The context an operation's span is a child of. `undefined` stands for the root context while nothing is
 * registered with the API and the API is not loaded, so an untraced operation never loads it.
 */
export type Parent = Context | undefined

/** `parent` as a context of the API (which loads it): the root context for `undefined`. */
function contextOf(parent: Parent): Context {
  return parent ?? otel().ROOT_CONTEXT
}

const TRACER_NAME = '@agent-comm/coordinator'

/** A tracer that stays a no-op: from a proxy provider of its own, which no registration ever reaches. */
let noopTracer: OpenTelemetryApi.Tracer | undefined

/**
 * The coordinator's tracer: the registered provider's, looked up at each span, or a no-op one while none is
 * registered (its spans still carry an incoming trace context on). Never kept from an earlier call: a
 * tracer taken before the application registers its SDK stays a no-op whenever the registration goes
 * through another proxy than the one it came from — after `trace.disable()`, or from the CommonJS build of
 * `@opentelemetry/api` (a CommonJS SDK such as `@opentelemetry/sdk-trace-node` registers through it; the
 * coordinator uses the ES module build; the two share only the global registry). The lookup allocates
 * nothing: an SDK keeps one tracer per name.
 */
function tracer(): OpenTelemetryApi.Tracer {
  const { trace, ProxyTracerProvider } = otel()
  const provider = trace.getTracerProvider()
  // The global proxy of another build of the API is registered only together with a provider.
  if (!(provider instanceof ProxyTracerProvider)) return provider.getTracer(TRACER_NAME)
  const registered = provider.getDelegateTracer(TRACER_NAME)
  if (registered !== undefined) return registered
  noopTracer ??= new ProxyTracerProvider().getTracer(TRACER_NAME)
  return noopTracer
}

/** `@opentelemetry/api`'s `SpanKind` values, without loading the API to name them. */
export const SpanKind = {
  INTERNAL: 0,
  SERVER: 1,
  CLIENT: 2,
  PRODUCER: 3,
  CONSUMER: 4,
} as const satisfies Record<string, OtelSpanKind>

/** `SpanStatusCode.ERROR` of `@opentelemetry/api`. */
const SPAN_STATUS_ERROR = 2 satisfies OpenTelemetryApi.SpanStatusCode

/** The active context (`context.active()` of `@opentelemetry/api`); `undefined` while it is the root (see {@link Parent}). */
export function activeContext(): Parent {
  return otelInUse()?.context.active()
}

/** The span attributes of a message: its id and the agents it is between. */
export function messageAttributes(message: MessageV2): Attributes {
  return {
    'messaging.system': 'agent-comm',
    'messaging.message.id': message.id,
    'messaging.message.conversation_id': message.routing.conversationId,
    'agent_comm.from_agent': message.fromAgent,
    'agent_comm.to_agent': message.toAgent,
  }
}

/** The span attributes of a claimed message: the message's, with the recipient and attempt. */
export function claimedAttributes(claimed: ClaimedMessage): Attributes {
  return {
    ...messageAttributes(claimed.message),
    'agent_comm.agent': claimed.lease.recipient,
    'agent_comm.attempt': claimed.lease.attempt,
  }
}

/**
 * The context a message's `metadata.trace` continues, on top of `base` (the active context): what a reply,
 * a bridge forward or a receive span is a child of. `base` itself when the message carries no trace.
 */
export function messageTraceContext(message: MessageV2, base?: Context): Context {
  return contextOf(carriedContext(message, base ?? activeContext()))
}

/** {@link messageTraceContext} on a {@link Parent}: `base` as it is when the message carries no trace. */
export function carriedContext(message: MessageV2, base: Parent): Parent {
  const carried = traceMetadataOf(message.metadata)
  if (carried === undefined) return base
  return contextFromTraceMetadata(carried, contextOf(base))
}

/** `base` with the remote span context a `traceparent` (and `tracestate`) names; `base` if malformed. */
export function contextFromTraceMetadata(carried: Partial<TraceMetadata>, base?: Context): Context {
  const ids = parseTraceparent(carried.traceparent)
  if (ids === undefined) return base ?? contextOf(activeContext())
  const { createTraceState, trace } = otel()
  return trace.setSpanContext(base ?? contextOf(activeContext()), {
    ...ids,
    isRemote: true,
    traceState: carried.tracestate === undefined ? undefined : createTraceState(carried.tracestate),
  })
}

/** The span context active in `ctx` (`trace.getSpanContext`), or `undefined` if it holds no span. */
export function spanContextOf(ctx: Parent): OpenTelemetryApi.SpanContext | undefined {
  return ctx === undefined ? undefined : otel().trace.getSpanContext(ctx)
}

/** The W3C trace context of `ctx` (default: the active one), or `undefined` outside any valid trace. */
export function traceMetadataOfContext(
  ctx: Context | undefined = activeContext(),
): TraceMetadata | undefined {
  return ctx === undefined ? undefined : traceMetadataOfSpan(otel().trace.getSpan(ctx))
}

/** The W3C trace context of a span, or `undefined` for a no-op span outside any trace. */
export function traceMetadataOfSpan(span: Span | undefined): TraceMetadata | undefined {
  const spanContext = span?.spanContext()
  if (spanContext === undefined || !otel().isSpanContextValid(spanContext)) return undefined
  const tracestate = spanContext.traceState?.serialize()
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')
  return {
    traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`,
    // Absent rather than undefined: it goes into message metadata, whose JSON refuses undefined values.
    ...(tracestate === undefined || tracestate === '' ? {} : { tracestate }),
  }
}

/**
 * `message` with the trace context of `span` in `metadata.trace` — unless it carries one already (a
 * message passed on keeps its trace) or the span is outside any trace (the message is returned as is).
 */
export function withTraceMetadata(message: MessageV2, span: Span | undefined): MessageV2 {
  if (message.metadata !== undefined && TRACE_METADATA_KEY in message.metadata) return message
  const carried = traceMetadataOfSpan(span)
  if (carried === undefined) return message
  return { ...message, metadata: { ...message.metadata, [TRACE_METADATA_KEY]: carried } }
}

/**
 * Runs `fn` in a span `name` (a child of `parent`, default the active context), ended when `fn` settles;
 * `attributes` is called only when the span records.
 * a rejection is recorded on the span and rethrown. `fn` gets the span and the context holding it, so
 * callers can pass it on without relying on a context manager: both `undefined` when the API is not in use
 * and `parent` is the root (no span can record, and there is no trace to carry on).
 */
export function inSpan<T>(
  name: string,
  kind: OtelSpanKind,
  attributes: () => Attributes,
  fn: (span: Span | undefined, ctx: Parent) => Promise<T>,
  parent: Parent = activeContext(),
): Promise<T> {
  if (parent === undefined && otelInUse() === undefined) return fn(undefined, undefined)
  const span = tracer().startSpan(name, { kind }, contextOf(parent))
  // Attributes are built only for a span that records: a no-op tracer costs no allocations for them.
  if (span.isRecording()) span.setAttributes(attributes())
  // No SDK and no trace to continue: the span is an invalid no-op, so children started under it or under
  // `parent` are alike. Skip the context and the extra promise, which every send, claim and ack would pay.
  else if (!otel().isSpanContextValid(span.spanContext())) return fn(span, parent)
  const { context, trace } = otel()
  const ctx = trace.setSpan(contextOf(parent), span)
  return context
    .with(ctx, () => fn(span, ctx))
    .then(
      (value) => {
        span.end()
        return value
      },
      (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error))
        span.setStatus({ code: SPAN_STATUS_ERROR, message: (error as Error)?.message ?? String(error) })
        span.end()
        throw error
      },
    )
}

/** Records that `claimed` was received, as a short span in the trace its sender started. */
export function recordReceive(claimed: ClaimedMessage): void {
  if (claimed.message.metadata === undefined || !(TRACE_METADATA_KEY in claimed.message.metadata)) return
  // Nothing registered: the span could not record, and nothing continues from it.
  if (otelInUse() === undefined) return
  const span = tracer().startSpan(
    'agent-comm receive',
    { kind: SpanKind.CONSUMER },
    messageTraceContext(claimed.message),
  )
  if (span.isRecording()) span.setAttributes(claimedAttributes(claimed))
  span.end()
}

/**
 * Where an ack or nack span of `message` goes: under the active span, or else (a consumer outside any span)
 * in the trace the message carries.
 */
export function settleParentOf(message: MessageV2): Parent {
  const active = activeContext()
  if (active !== undefined && otel().trace.getSpan(active) !== undefined) return active
  return carriedContext(message, active)
}

/**
 * Runs `fn`, which acks every message of `acked` at once (one transaction), inside one `agent-comm ack`
 * span per message — each in its own place (see {@link settleParentOf}), as a separate ack would be — so
 * a batched settle leaves the same trail as one ack at a time. A rejection is recorded on each span.
 */
export async function inAckSpans<T>(acked: readonly ClaimedMessage[], fn: () => Promise<T>): Promise<T> {
  const spans = acked.flatMap((claimed) => {
    const parent = settleParentOf(claimed.message)
    // As in inSpan: no span at all while the API is not in use and there is no trace to carry on.
    if (parent === undefined && otelInUse() === undefined) return []
    const span = tracer().startSpan('agent-comm ack', { kind: SpanKind.INTERNAL }, contextOf(parent))
    if (span.isRecording()) span.setAttributes(claimedAttributes(claimed))
    return [span]
  })
  try {
    const value = await fn()
    for (const span of spans) span.end()
    return value
  } catch (error) {
    for (const span of spans) {
      span.recordException(error instanceof Error ? error : String(error))
      span.setStatus({ code: SPAN_STATUS_ERROR, message: (error as Error)?.message ?? String(error) })
      span.end()
    }
    throw error
  }
}
