import type { TraceMetadata } from '@agent-comm/protocol'
import { context, isSpanContextValid, trace } from '@opentelemetry/api'

/**
 * The W3C `traceparent`/`tracestate` headers of a relay request: the trace a message carries (a send), or
 * else the active OpenTelemetry span's. Nothing outside a valid trace, so an untraced client (no provider,
 * no incoming context) serializes nothing.
 */
export function traceHeaders(carried: TraceMetadata | undefined): Record<string, string> | undefined {
  if (carried !== undefined) {
    return carried.tracestate === undefined
      ? { traceparent: carried.traceparent }
      : { traceparent: carried.traceparent, tracestate: carried.tracestate }
  }
  const spanContext = trace.getSpanContext(context.active())
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`
  const tracestate = spanContext.traceState?.serialize()
  return tracestate === undefined || tracestate === '' ? { traceparent } : { traceparent, tracestate }
}
