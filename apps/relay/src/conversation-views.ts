import type { ConversationSummary, MessageV2 } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * The messages an agent may see: those it sent, those addressed to it, and those delivered to it (a
 * broadcast or capability message names no recipient; its deliveries say who received it). One SQL
 * predicate over the spool's `messages` row `m`, so a thread's list and its summary agree on what is seen.
 */
const VISIBLE_TO_AGENT = `(m.from_agent = @agent OR m.to_agent = @agent
  OR EXISTS (SELECT 1 FROM deliveries d WHERE d.message_seq = m.seq AND d.recipient = @agent))`

interface SummaryRow {
  conversationId: string
  messageCount: number
  firstAt: number
  lastAt: number
  senders: string
  receivers: string
  subject: string
}

/**
 * Threads and thread contents as one agent may see them, read from the spool's tables on its connection.
 * Everything is computed over the agent's visible messages only: knowing a conversation id and posting into
 * it must not reveal the thread's first subject, its other participants or how many messages it holds.
 */
export class ConversationViews {
  readonly #summaries: BetterSqlite3.Statement<{ agent: string; limit: number }, SummaryRow>
  readonly #visibleIds: BetterSqlite3.Statement<{ agent: string; conversationId: string }, string>

  constructor(sqlite: BetterSqlite3.Database) {
    this.#summaries = sqlite.prepare(
      `WITH visible AS (SELECT m.seq, m.conversation_id, m.from_agent, m.to_agent, m.subject, m.created_at
         FROM messages m WHERE ${VISIBLE_TO_AGENT})
       SELECT conversation_id AS conversationId, COUNT(*) AS messageCount, MIN(created_at) AS firstAt,
         MAX(created_at) AS lastAt, json_group_array(DISTINCT from_agent) AS senders,
         json_group_array(DISTINCT to_agent) AS receivers,
         (SELECT subject FROM visible f WHERE f.conversation_id = v.conversation_id ORDER BY seq LIMIT 1) AS subject
       FROM visible v GROUP BY conversation_id ORDER BY MAX(seq) DESC LIMIT @limit`,
    )
    this.#visibleIds = sqlite
      .prepare<{ agent: string; conversationId: string }, string>(
        `SELECT m.id FROM messages m WHERE m.conversation_id = @conversationId AND ${VISIBLE_TO_AGENT}`,
      )
      .pluck()
  }

  /** The threads `agent` sent or received a message in, most recently active first, summarised over those messages. */
  summaries(agent: string, limit = 50): ConversationSummary[] {
    return this.#summaries.all({ agent, limit }).map((row) => ({
      conversationId: row.conversationId,
      subject: row.subject,
      participants: [
        ...new Set([...(JSON.parse(row.senders) as string[]), ...(JSON.parse(row.receivers) as string[])]),
      ].sort(),
      messageCount: row.messageCount,
      firstActivity: new Date(row.firstAt).toISOString(),
      lastActivity: new Date(row.lastAt).toISOString(),
    }))
  }

  /** Of a thread's `messages` (oldest first), those `agent` may see: one query, however long the thread. */
  visible(conversationId: string, agent: string, messages: readonly MessageV2[]): MessageV2[] {
    const ids = new Set(this.#visibleIds.all({ agent, conversationId }))
    return messages.filter((m) => ids.has(m.id))
  }
}
