// Output budgets: how much of a thread, a search or a claim a tool puts into the model's context. A
// 200-message thread at the defaults stays within a few thousand tokens; the model pages with `before`
// and reads a trimmed body in full with comm_message_status.
import type { MessageV2 } from '@agent-comm/protocol'
import { z } from 'zod'

/** Default `max_body_chars` of reads (conversation, search, inbox); claims get more (the model acts on them). */
export const DEFAULT_READ_BODY_CHARS = 300
/** Default `max_body_chars` of comm_poll. */
export const DEFAULT_CLAIM_BODY_CHARS = 4000

/** The budget parameters of the reading tools. */
export function budgetShape(defaultBodyChars: number) {
  return {
    include_bodies: z
      .boolean()
      .default(true)
      .describe('include message bodies (false: headers only, the cheapest overview)'),
    max_body_chars: z
      .number()
      .int()
      .min(0)
      .max(1_048_576)
      .default(defaultBodyChars)
      .describe(
        `trim each body to this many characters (default ${defaultBodyChars}); a trimmed body ends with a marker saying how to read the rest`,
      ),
  }
}

/** What a budget does to each message. */
export interface BodyBudget {
  include_bodies: boolean
  max_body_chars: number
}

/** `message` with its body trimmed to the budget, and a marker naming the tool that reads the rest. */
export function trimmed(message: MessageV2, budget: BodyBudget): MessageV2 {
  const body = message.body
  if (!budget.include_bodies) {
    return {
      ...message,
      body: `[body omitted: ${body.length} chars; read it with comm_message_status (message_id: '${message.id}')]`,
    }
  }
  if (body.length <= budget.max_body_chars) return message
  return {
    ...message,
    body: `${body.slice(0, budget.max_body_chars)}…[trimmed ${body.length - budget.max_body_chars} of ${body.length} chars; read it all with comm_message_status (message_id: '${message.id}')]`,
  }
}

/** Messages ordered by (timestamp, id), as cursors compare them. */
export function before(message: MessageV2, cursor: MessageV2): boolean {
  return (
    message.timestamp < cursor.timestamp || (message.timestamp === cursor.timestamp && message.id < cursor.id)
  )
}
