import { z } from 'zod'
import { boundedJson } from './json-limits.js'

/** The kinds of typed payload a message can carry. */
export const PAYLOAD_TYPES = [
  'text',
  'task_assignment',
  'task_result',
  'context_share',
  'status_request',
  'status_response',
  'capability_query',
  'capability_response',
  'broadcast',
] as const

/** A payload kind. */
export type PayloadType = (typeof PAYLOAD_TYPES)[number]

/** Schema of {@link PayloadType}; unknown kinds are rejected with the list of valid ones. */
export const PayloadTypeSchema = z.enum(PAYLOAD_TYPES, {
  error: () => `must be one of ${PAYLOAD_TYPES.join(', ')}`,
})

// One instance for both schemas below, so the generated JSON Schema defines the JSON type once.
const AnyJsonSchema = z.json()

/**
 * Any JSON value within the protocol's JSON limits (`Limits.jsonMaxDepth`, `jsonMaxBytes`, `jsonMaxKeys`),
 * which are checked before the value is walked recursively.
 */
export const JsonValueSchema = boundedJson(AnyJsonSchema)

/** A JSON value. */
export type JsonValue = z.infer<typeof JsonValueSchema>

/** A JSON object within the protocol's JSON limits, used for metadata. */
export const JsonObjectSchema = boundedJson(z.record(z.string(), AnyJsonSchema))

/** A JSON object. */
export type JsonObject = z.infer<typeof JsonObjectSchema>

/** A typed payload: a kind and JSON data. */
export const PayloadSchema = z.object({
  type: PayloadTypeSchema,
  data: JsonValueSchema.default(null),
})

/** A typed payload. */
export type Payload = z.infer<typeof PayloadSchema>
