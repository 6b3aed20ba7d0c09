import { z } from 'zod'
import { ValidationError } from './errors.js'
import { lazySchema } from './lazy-schema.js'

/**
 * Where a message carries its W3C trace context: `metadata.trace = { traceparent, tracestate? }`. Set by
 * the coordinator on send from the active OpenTelemetry context, continued by replies, requests, bridges
 * and the relay; a message sent outside any trace has no `metadata.trace`.
 */
export const TRACE_METADATA_KEY = 'trace'

/** The W3C `traceparent` (version 00): `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** A `tracestate` value: printable ASCII (it becomes an HTTP header and an environment variable). */
const TRACESTATE = /^[\x20-\x7e]*$/

/** `metadata.trace` of a message: a W3C `traceparent` and, when there is one, its `tracestate`. */
export const TraceMetadataSchema = lazySchema(() =>
  z.object({
    traceparent: z.string().check(
      z.regex(TRACEPARENT, 'must be a W3C traceparent (00-<trace id>-<span id>-<flags>)'),
      // All-zero ids are invalid in W3C trace context: no receiver could continue such a trace.
      z.refine(
        (value) => !TRACEPARENT.test(value) || parseTraceparent(value) !== undefined,
        'must not have an all-zero trace id or span id',
      ),
    ),
    tracestate: z
      .string()
      .check(
        z.maxLength(512, 'must be at most 512 characters'),
        z.regex(TRACESTATE, 'must be printable ASCII (no control characters)'),
      )
      .optional(),
  }),
)

/** `metadata.trace` of a message. */
export type TraceMetadata = z.infer<typeof TraceMetadataSchema>

/** The ids a `traceparent` names (the shape of an OpenTelemetry `SpanContext`, minus its trace state). */
export interface TraceparentFields {
  traceId: string
  spanId: string
  traceFlags: number
}

const INVALID_TRACE_ID = '0'.repeat(32)
const INVALID_SPAN_ID = '0'.repeat(16)

/** The `traceparent` header value of a span context. */
export function formatTraceparent(fields: TraceparentFields): string {
  return `00-${fields.traceId}-${fields.spanId}-${(fields.traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/**
 * The ids of a `traceparent` header value, or `undefined` for anything else (a malformed or all-zero id
 * is ignored, as the W3C recommendation says: the receiver starts a new trace rather than failing).
 */
export function parseTraceparent(value: unknown): TraceparentFields | undefined {
  if (typeof value !== 'string') return undefined
  const match = TRACEPARENT.exec(value.trim())
  if (match === null) return undefined
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  if (traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) return undefined
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) }
}

/** The trace context a message carries in `metadata.trace`, if it carries a valid one. */
export function traceMetadataOf(metadata: Record<string, unknown> | undefined): TraceMetadata | undefined {
  const trace = metadata?.[TRACE_METADATA_KEY]
  if (typeof trace !== 'object' || trace === null) return undefined
  const { traceparent, tracestate } = trace as Record<string, unknown>
  if (parseTraceparent(traceparent) === undefined) return undefined
  return {
    traceparent: traceparent as string,
    ...(typeof tracestate === 'string' && tracestate !== '' ? { tracestate } : {}),
  }
}

/**
 * Refuses a message whose `metadata.trace` is there but not a {@link TraceMetadataSchema} (`ValidationError`
 * naming `metadata.trace`): stored and forwarded, a malformed trace would replace the sender's real context
 * (the coordinator keeps a trace a message already carries) and break the chain at every receiver. Checked
 * on send by the coordinator and the spool (so by the relay too); a message without one is untouched.
 */
export function assertTraceMetadata(metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined || !(TRACE_METADATA_KEY in metadata)) return
  const result = TraceMetadataSchema.safeParse(metadata[TRACE_METADATA_KEY])
  if (result.success) return
  const issues = result.error.issues.map((issue) => ({
    path: ['metadata', TRACE_METADATA_KEY, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  throw new ValidationError(
    `Invalid message: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
    {
      hint: `Leave metadata.${TRACE_METADATA_KEY} out (agent-comm sets it from the active OpenTelemetry context), or pass a W3C trace context: { "traceparent": "00-<32 hex>-<16 hex>-<2 hex>", "tracestate"?: "…" }.`,
    },
  )
}
