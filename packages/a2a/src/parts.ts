import { type Message, type Part, Part as PartCodec } from '@a2a-js/sdk'
import { JsonRpcRequestMalformedError } from '@a2a-js/sdk/errors'
import type { JsonValue, MessageV2 } from '@agent-comm/protocol'
import { freeText } from '@agent-comm/protocol'
import { z } from 'zod'

/** JSON-RPC "invalid params" (-32602), the spec's answer to a malformed message. */
export function invalidParams(message: string): Error {
  return new JsonRpcRequestMalformedError({ message, envelopeCode: -32602 })
}

/**
 * Refuses (invalid params) a caller's string that would be stored as text and holds NUL or a lone
 * surrogate: the protocol's rule for free text ({@link freeText}), so an A2A call fails the same way on
 * SQLite and PostgreSQL.
 */
export function requireFreeText(value: string, field: string): void {
  const checked = FREE_TEXT.safeParse(value)
  if (!checked.success)
    throw invalidParams(`${field} ${checked.error.issues[0]?.message ?? 'is not valid text'}`)
}

const FREE_TEXT = freeText()

/**
 * Checks the parts of a caller's message: at least one, each with content (text, a file by URL or bytes,
 * or JSON data), and no NUL in what becomes the spool message's body (text, url, file name, media type).
 * Throws invalid params naming the first bad part.
 */
export function requireValidParts(message: Message | undefined): Part[] {
  if (message === undefined) throw invalidParams('params.message is required')
  if (message.parts.length === 0) throw invalidParams('params.message.parts must not be empty')
  message.parts.forEach((part, i) => {
    const content = part.content
    if (content === undefined) {
      throw invalidParams(`params.message.parts[${i}] has no content: give text, url, raw or data`)
    }
    if (content.$case === 'text' || content.$case === 'url') {
      requireFreeText(content.value, `params.message.parts[${i}].${content.$case}`)
    }
    requireFreeText(part.filename, `params.message.parts[${i}].filename`)
    requireFreeText(part.mediaType, `params.message.parts[${i}].mediaType`)
  })
  return message.parts
}

/** The text of `parts` joined by blank lines, for the spool message's body (what a CLI poll shows). */
export function partsText(parts: readonly Part[]): string {
  const texts: string[] = []
  for (const part of parts) {
    const content = part.content
    if (content === undefined) continue
    if (content.$case === 'text') texts.push(content.value)
    else if (content.$case === 'url') texts.push(content.value)
    else if (content.$case === 'data') texts.push(JSON.stringify(content.value))
    else texts.push(`[${part.mediaType || 'file'} ${part.filename || ''} ${content.value.length} bytes]`)
  }
  return texts.join('\n\n')
}

/** Parts as A2A JSON, to carry in a spool payload. */
export function partsToJson(parts: readonly Part[]): JsonValue {
  return parts.map((part) => PartCodec.toJSON(part)) as JsonValue
}

/** What an agent may put under `payload.data.a2a` (or `metadata.a2a`) of its reply. */
const ReplyA2ASchema = z.object({
  state: z.enum(['completed', 'input-required', 'failed', 'rejected']).optional(),
  parts: z.array(z.record(z.string(), z.unknown())).optional(),
})

/** How an agent's reply ends (or pauses) a task. */
export interface ReplyOutcome {
  state: 'completed' | 'input-required' | 'failed' | 'rejected'
  parts: Part[]
}

/**
 * Reads an agent's reply: its A2A parts (`payload.data.a2a.parts`, else the body as one text part) and
 * the state it asks for (`a2a.state` in the payload data or metadata; default completed, so an ordinary
 * reply completes the task).
 */
export function replyOutcome(reply: MessageV2): ReplyOutcome {
  const fromPayload = readA2A(reply.payload?.data)
  const fromMetadata = readA2A(reply.metadata)
  const state = fromPayload?.state ?? fromMetadata?.state ?? 'completed'
  const rawParts = fromPayload?.parts ?? fromMetadata?.parts
  let parts: Part[] = []
  if (rawParts !== undefined) {
    parts = rawParts.map((raw) => PartCodec.fromJSON(raw)).filter((part) => part.content !== undefined)
  }
  if (parts.length === 0) parts = [PartCodec.fromJSON({ text: reply.body })]
  return { state, parts }
}

function readA2A(value: unknown): z.output<typeof ReplyA2ASchema> | undefined {
  if (typeof value !== 'object' || value === null || !('a2a' in value)) return undefined
  const parsed = ReplyA2ASchema.safeParse((value as { a2a: unknown }).a2a)
  return parsed.success ? parsed.data : undefined
}
