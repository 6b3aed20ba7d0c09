import { z } from 'zod'

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

/** Any JSON value. */
export const JsonValueSchema = z.json()

/** A JSON value. */
export type JsonValue = z.infer<typeof JsonValueSchema>

/** A JSON object, used for metadata. */
export const JsonObjectSchema = z.record(z.string(), JsonValueSchema)

/** A JSON object. */
export type JsonObject = z.infer<typeof JsonObjectSchema>

/** A typed payload: a kind and JSON data. */
export const PayloadSchema = z.object({
  type: PayloadTypeSchema,
  data: JsonValueSchema.default(null),
})

/** A typed payload. */
export type Payload = z.infer<typeof PayloadSchema>
