import type { DeliveryStatus, JsonObject, MessageV2, Payload } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  ConversationIdSchema,
  checkJsonLimits,
  isSafeId,
  MessageIdSchema,
  PAYLOAD_TYPES,
  PayloadTypeSchema,
  priorityFromRank,
  priorityRank,
  RecipientSchema,
  StorageError,
  toValidationError,
} from '@agent-comm/protocol'
import type { DeliveryRecord, MessageRecord, StoredSend } from './store.js'
import type { DeliveryInfo, StoredMessage, UnreadableColumn } from './types.js'

// The last time formatted, kept: a claim's rows usually come from one batched send, which stamps every
// message with one clock reading, so a batch of 100 formats one time instead of 100.
let lastIsoMs = Number.NaN
let lastIso = ''
const iso = (ms: number): string => {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString()
    lastIsoMs = ms
  }
  return lastIso
}
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms))

/** The stored JSON columns of a message. */
type JsonColumn = 'payload' | 'metadata'

/**
 * Rebuilds the protocol message from its row, as stored: for reading and inspecting (status, listings,
 * search), so an operator still sees a message a claim refused. A JSON column that does not parse is left
 * out of the message (which stays a valid `MessageV2`) and named in `unreadable` with the reason, instead of
 * failing the whole listing. Consumers get messages through {@link checkedMessageFromRow}.
 */
export function storedMessageFromRow(row: MessageRecord): StoredMessage {
  const message = envelopeFromRow(row)
  const unreadable: UnreadableColumn[] = []
  for (const column of ['payload', 'metadata'] as const) {
    const text = row[column]
    if (text === null) continue
    try {
      // Stored JSON was validated when written; a hand edit or an older version may have broken it.
      const value: unknown = JSON.parse(text)
      if (column === 'payload') message.payload = value as Payload
      else message.metadata = value as JsonObject
    } catch {
      unreadable.push({ column, reason: NOT_JSON })
    }
  }
  return unreadable.length === 0 ? { message } : { message, unreadable }
}

/** The message of a row without its JSON columns. */
function envelopeFromRow(row: MessageRecord): MessageV2 {
  return {
    id: row.id,
    version: '2.0',
    fromAgent: row.fromAgent,
    toAgent: row.toAgent,
    subject: row.subject,
    body: row.body,
    timestamp: iso(row.createdAt),
    priority: priorityFromRank(row.priority),
    routing:
      row.replyTo === null
        ? { conversationId: row.conversationId, ttlHours: row.ttlHours }
        : { replyTo: row.replyTo, conversationId: row.conversationId, ttlHours: row.ttlHours },
  }
}

const NOT_JSON = 'is not valid JSON'

function unreadable(messageId: string, column: string, why: string, cause: unknown): StorageError {
  // JSON.stringify escapes what a broken id may hold (control characters), so the reason is safe to print.
  const id = JSON.stringify(messageId).slice(1, -1)
  return new StorageError(`Stored message '${id}' cannot be read: its ${column} ${why}`, {
    hint: 'It was written by an older agent-comm or changed by hand. A claim dead-letters it; delete it or fix the row.',
    details: { messageId, column },
    // An Error given `cause: undefined` has a `cause` property all the same: absent rather than undefined.
    ...(cause === undefined ? {} : { cause }),
  })
}

/** Parses one stored JSON column; throws `StorageError` naming the message and column when it is not JSON. */
function storedJson(text: string, column: JsonColumn, messageId: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw unreadable(messageId, column, NOT_JSON, error)
  }
}

/** A stored JSON value within the protocol's JSON limits; throws `StorageError` naming the column otherwise. */
function withinLimits(value: unknown, column: JsonColumn, messageId: string): unknown {
  const breach = checkJsonLimits(value)
  if (breach !== undefined)
    throw unreadable(messageId, column, `breaks the protocol: ${breach.message}`, undefined)
  return value
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * A stored payload as the protocol reads it: a known `type` and JSON `data` within the JSON limits (null
 * when absent; other keys dropped). Parsed JSON within the limits is all the data schema would check.
 */
function storedPayload(text: string, messageId: string): Payload {
  const value = storedJson(text, 'payload', messageId)
  const type = isJsonObject(value) ? PayloadTypeSchema.safeParse(value.type) : undefined
  if (type === undefined || !type.success || !isJsonObject(value)) {
    throw unreadable(
      messageId,
      'payload',
      `breaks the protocol: it is not an object with a type of ${PAYLOAD_TYPES.join(', ')}`,
      undefined,
    )
  }
  return { type: type.data, data: withinLimits(value.data ?? null, 'payload', messageId) as Payload['data'] }
}

/**
 * The id fields of a row with the protocol schema each must match, as a recipient's client checks them,
 * and how their accepted values are remembered (see {@link accepted}): senders and recipients repeat from
 * row to row, and a consumer's whole population of them fits in memory (`all`); threads repeat in bursts,
 * most of them one message long (`last`); message ids never repeat (`none`).
 */
const ID_FIELDS = [
  ['id', 'id', MessageIdSchema, 'none'],
  ['fromAgent', 'from_agent', AgentIdSchema, 'all'],
  ['toAgent', 'to_agent', RecipientSchema, 'all'],
  ['conversationId', 'conversation_id', ConversationIdSchema, 'last'],
  ['replyTo', 'reply_to', MessageIdSchema, 'none'],
] as const

/**
 * The schemas whose whole check `isSafeId` is: a value it accepts passes without a parse (a zod parse of
 * each claimed message's id was about a quarter of the JavaScript of a claim of 100 above the driver,
 * bench/drain-js.bench.mjs in packages/postgres); one it refuses is parsed, for the error.
 */
const SAFE_ID_SCHEMAS: ReadonlySet<unknown> = new Set([MessageIdSchema, ConversationIdSchema])

/**
 * Values of the repeating id fields that their schema accepted already: a schema only checks (it changes
 * nothing), so a value seen before passes again without a parse. `all` columns keep every value, up to
 * {@link ACCEPTED_LIMIT} (past it the memory starts over); a `last` column keeps its latest value only.
 * Threads are not kept in a set: every value kept outlives the claims between two of V8's young-generation
 * collections, so thousands of one-message threads (the ids a send makes when none is given) were promoted
 * to the old generation as garbage — a consumer's RSS grew by megabytes per 10,000 messages, and the
 * promoted bytes made V8 double its young generation (the coordinator's `bench/consumer-rss.bench.mjs`).
 */
const accepted = new Map<string, Set<string>>(
  ID_FIELDS.filter((f) => f[3] === 'all').map((f) => [f[1], new Set()]),
)
const lastAccepted = new Map<string, string>()
const ACCEPTED_LIMIT = 4096

/**
 * Rebuilds the protocol message from its row for a consumer, checking what a send checked and a recipient's
 * client checks again: the id fields against their schemas (an older version, or a hand edit, may have
 * stored control characters in them), and the stored JSON against the protocol's JSON limits and shapes.
 * Every check is a bounded walk or a short regex — no schema re-parse of the JSON on the claim path.
 * Throws `StorageError` for a row that fails: a claim dead-letters that one delivery instead of handing out
 * a message that would fail its consumer.
 */
export function checkedMessageFromRow(row: MessageRecord): MessageV2 {
  for (const [field, column, schema, kept] of ID_FIELDS) {
    const value = row[field]
    if (value === null) continue
    const seen = accepted.get(column)
    if (seen?.has(value) === true || (kept === 'last' && lastAccepted.get(column) === value)) continue
    if (SAFE_ID_SCHEMAS.has(schema) && isSafeId(value)) {
      if (kept === 'last') lastAccepted.set(column, value)
      continue
    }
    const result = schema.safeParse(value)
    if (!result.success) {
      throw unreadable(
        row.id,
        column,
        `breaks the protocol: ${toValidationError(result.error, column).message}`,
        undefined,
      )
    }
    if (kept === 'last') lastAccepted.set(column, value)
    if (seen === undefined) continue
    if (seen.size >= ACCEPTED_LIMIT) seen.clear()
    seen.add(value)
  }
  const message = envelopeFromRow(row)
  if (row.payload !== null) message.payload = storedPayload(row.payload, row.id)
  if (row.metadata !== null) {
    const metadata = withinLimits(storedJson(row.metadata, 'metadata', row.id), 'metadata', row.id)
    if (!isJsonObject(metadata))
      throw unreadable(row.id, 'metadata', 'breaks the protocol: it is not a JSON object', undefined)
    message.metadata = metadata as JsonObject
  }
  return message
}

/** The public view of a delivery row. A live delivery past its TTL reads as `expired`. */
export function deliveryFromRow(row: DeliveryRecord, now: number): DeliveryInfo {
  const live = row.status === 'queued' || row.status === 'leased'
  const status: DeliveryStatus = live && row.expiresAt <= now ? 'expired' : row.status
  return {
    recipient: row.recipient,
    status,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    leaseUntil: row.status === 'leased' ? isoOrNull(row.leaseUntil) : null,
    availableAt: row.status === 'queued' ? iso(row.availableAt) : null,
    lastError: row.lastError,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    ackedAt: isoOrNull(row.ackedAt),
  }
}

/**
 * The stored columns of a message, in the order every store's insert names them: id, from_agent, to_agent,
 * subject, body, priority (rank), conversation_id, reply_to, ttl_hours, payload and metadata (JSON text or
 * null), created_at (the message's timestamp, ms) and expires_at. One home for how a message is written, so
 * both stores store it alike.
 */
export function messageColumnValues(send: StoredSend): MessageColumnValues {
  const { message } = send
  return [
    message.id,
    message.fromAgent,
    message.toAgent,
    message.subject,
    message.body,
    priorityRank(message.priority),
    message.routing.conversationId,
    message.routing.replyTo ?? null,
    message.routing.ttlHours,
    message.payload === undefined ? null : JSON.stringify(message.payload),
    message.metadata === undefined ? null : JSON.stringify(message.metadata),
    Date.parse(message.timestamp),
    send.expiresAt,
  ]
}

/** What {@link messageColumnValues} returns. */
export type MessageColumnValues = [
  id: string,
  fromAgent: string,
  toAgent: string,
  subject: string,
  body: string,
  priority: number,
  conversationId: string,
  replyTo: string | null,
  ttlHours: number,
  payload: string | null,
  metadata: string | null,
  createdAt: number,
  expiresAt: number,
]
