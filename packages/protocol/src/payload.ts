import { z } from 'zod'
import { ApprovalRequestSchema, ApprovalResponseSchema } from './approval.js'
import { JsonValueSchema } from './json-value.js'
import { lazySchema } from './lazy-schema.js'
import { PAYLOAD_TYPES } from './vocabulary.js'

export { type JsonObject, JsonObjectSchema, type JsonValue, JsonValueSchema } from './json-value.js'

export { PAYLOAD_TYPES } from './vocabulary.js'

/** A payload kind. */
export type PayloadType = (typeof PAYLOAD_TYPES)[number]

/** Schema of {@link PayloadType}; unknown kinds are rejected with the list of valid ones. */
export const PayloadTypeSchema = lazySchema(() =>
  z.enum(PAYLOAD_TYPES, {
    error: () => `must be one of ${PAYLOAD_TYPES.join(', ')}`,
  }),
)

/** Payload kinds whose `data` has a schema of its own, checked when a message is accepted. */
const TYPED_DATA = {
  approval_request: ApprovalRequestSchema,
  approval_response: ApprovalResponseSchema,
} as const

/**
 * A typed payload: a kind and JSON data. The data of `approval_request` and `approval_response` must
 * match their schemas ({@link ApprovalRequestSchema}, {@link ApprovalResponseSchema}); other kinds carry any JSON.
 */
export const PayloadSchema = lazySchema(() =>
  z
    .object({
      type: PayloadTypeSchema,
      data: JsonValueSchema.default(null),
    })
    .superRefine((payload, ctx) => {
      const schema = TYPED_DATA[payload.type as keyof typeof TYPED_DATA]
      if (schema === undefined) return
      const parsed = schema.safeParse(payload.data)
      if (parsed.success) return
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: ['data', ...issue.path] })
      }
    }),
)

/** A typed payload. */
export type Payload = z.infer<typeof PayloadSchema>
