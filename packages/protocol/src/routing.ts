import { z } from 'zod'
import { DEFAULT_TTL_HOURS, MAX_TTL_HOURS } from './bounds.js'
import { ConversationIdSchema, MessageIdSchema } from './identifiers.js'
import { lazySchema } from './lazy-schema.js'
import { Limits, utf8Length } from './limits.js'

/** A message's time-to-live in hours: more than 0, at most ten years. */
export const TtlHoursSchema = lazySchema(() =>
  z
    .number()
    .check(
      z.positive('must be a positive number of hours'),
      z.lte(MAX_TTL_HOURS, 'must be at most ten years'),
    ),
)

/** Threading and lifetime of a message. */
export const RoutingInfoSchema = lazySchema(() =>
  z.object({
    /** The message this one answers. */
    replyTo: MessageIdSchema.optional(),
    /** Shared by every message of one thread; minted for a new thread, inherited by replies. */
    conversationId: ConversationIdSchema,
    /** Hours after `timestamp` when the message stops being delivered. */
    ttlHours: TtlHoursSchema.default(DEFAULT_TTL_HOURS),
  }),
)

/** Threading and lifetime of a message. */
export type RoutingInfo = z.infer<typeof RoutingInfoSchema>

/** A message a reply can thread under: its id, subject and conversation. */
export interface ReplyableMessage {
  id: string
  subject: string
  routing: Pick<RoutingInfo, 'conversationId'>
}

/** How a reply threads under the message it answers: see {@link replyThread}. */
export interface ReplyThread {
  /**
   * The original subject prefixed `Re: `, unless it already starts with `Re:` (any case); its end is cut
   * (whole characters) if the prefix would take it over `Limits.subjectMaxBytes`.
   */
  subject: string
  routing: { replyTo: string; conversationId: string }
}

/**
 * The reply rule, in one place for the coordinator, the CLI and the MCP server: a reply points at the
 * message it answers (`replyTo`), stays in its conversation, and takes its subject with one `Re: ` in
 * front (never `Re: Re: `). Callers let an explicit subject or conversation override these defaults.
 */
export function replyThread(original: ReplyableMessage): ReplyThread {
  return {
    subject: /^re:/i.test(original.subject)
      ? original.subject
      : withinSubjectLimit(`Re: ${original.subject}`),
    routing: { replyTo: original.id, conversationId: original.routing.conversationId },
  }
}

/** `subject` cut to at most `Limits.subjectMaxBytes` UTF-8 bytes, never inside a character. */
function withinSubjectLimit(subject: string): string {
  if (utf8Length(subject) <= Limits.subjectMaxBytes) return subject
  let kept = ''
  let bytes = 0
  for (const char of subject) {
    bytes += utf8Length(char)
    if (bytes > Limits.subjectMaxBytes) break
    kept += char
  }
  return kept
}
