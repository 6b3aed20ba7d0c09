import { priorityRank } from '@agent-comm/protocol'
import type { InsertMessagesOutcome, StoredSend } from '@agent-comm/spool'
import { messageColumnValues } from '@agent-comm/spool/store'
import { numberArrayLiteral, textArrayLiteral } from './array-literal.js'
import type { SqlQueryable } from './client.js'
import { sqlStateOf } from './drivers/driver-errors.js'
import type { WriteStatements } from './statements.js'

/** SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505'

/**
 * The statement parameters of a batch: the message columns, then one element per delivery, each as an array
 * literal (see array-literal.ts), then now and the channel.
 */
function batchParams(sends: readonly StoredSend[], now: number, channel: string): unknown[] {
  const n = sends.length
  // Column arrays filled in one pass (the batch is a thousand sends; a pass per column cost more).
  const ids = new Array<string>(n)
  const from = new Array<string>(n)
  const to = new Array<string>(n)
  const subjects = new Array<string>(n)
  const bodies = new Array<string>(n)
  const priorities = new Array<number>(n)
  const conversations = new Array<string>(n)
  const replyTo = new Array<string | null>(n)
  const ttl = new Array<number>(n)
  const payloads = new Array<string | null>(n)
  const metadata = new Array<string | null>(n)
  const created = new Array<number>(n)
  const expires = new Array<number>(n)
  const dMessage: string[] = []
  const dRecipient: string[] = []
  const dPriority: number[] = []
  const dMaxAttempts: number[] = []
  const dAvailableAt: number[] = []
  const dExpiresAt: number[] = []
  // Most batches repeat one timestamp and one priority: parse and rank each distinct value once.
  let lastTimestamp = ''
  let lastCreated = 0
  let lastPriority: string | undefined
  let lastRank = 0
  for (let i = 0; i < n; i++) {
    const send = sends[i]!
    const m = send.message
    if (m.priority !== lastPriority) {
      lastPriority = m.priority
      lastRank = priorityRank(m.priority)
    }
    if (m.timestamp !== lastTimestamp) {
      lastTimestamp = m.timestamp
      lastCreated = Date.parse(m.timestamp)
    }
    ids[i] = m.id
    from[i] = m.fromAgent
    to[i] = m.toAgent
    subjects[i] = m.subject
    bodies[i] = m.body
    priorities[i] = lastRank
    conversations[i] = m.routing.conversationId
    replyTo[i] = m.routing.replyTo ?? null
    ttl[i] = m.routing.ttlHours
    payloads[i] = m.payload === undefined ? null : JSON.stringify(m.payload)
    metadata[i] = m.metadata === undefined ? null : JSON.stringify(m.metadata)
    created[i] = lastCreated
    expires[i] = send.expiresAt
    for (const recipient of send.recipients) {
      dMessage.push(m.id)
      dRecipient.push(recipient)
      dPriority.push(lastRank)
      dMaxAttempts.push(send.maxAttempts)
      dAvailableAt.push(send.availableAt)
      dExpiresAt.push(send.expiresAt)
    }
  }
  // Parameters in BATCH order (statements.ts): each column as an array literal, or — the same value all
  // through the batch — an empty array and that value once.
  const messageColumns = [
    textColumn(ids, false),
    textColumn(from),
    textColumn(to),
    textColumn(subjects),
    textColumn(bodies),
    numberColumn(priorities),
    textColumn(conversations),
    textColumn(replyTo),
    numberColumn(ttl),
    textColumn(payloads),
    textColumn(metadata),
    numberColumn(created),
    numberColumn(expires),
  ]
  // One recipient per message, in order: the delivery's message ids are the message ids (null says so).
  const oneEach = dMessage.length === n && sends.every((send) => send.recipients.length === 1)
  const deliveryColumns = [
    oneEach ? NOT_SHARED(null) : textColumn(dMessage, false),
    textColumn(dRecipient),
    numberColumn(dPriority),
    numberColumn(dMaxAttempts),
    numberColumn(dAvailableAt),
    numberColumn(dExpiresAt),
  ]
  return [
    ...messageColumns.map((c) => c[0]),
    ...messageColumns.map((c) => c[1]),
    ...deliveryColumns.map((c) => c[0]),
    ...deliveryColumns.map((c) => c[1]),
    now,
    channel,
  ]
}

/** A column's two parameters: its array literal (or `{}`), and its one shared value (or null). */
type ColumnParams = readonly [string | null, string | number | null]

const NOT_SHARED = (literal: string | null): ColumnParams => [literal, null]

/** Whether every value equals the first (and there is one). */
function allSame<V>(values: readonly V[]): boolean {
  if (values.length === 0) return false
  const first = values[0]
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return false
  return true
}

function textColumn(values: readonly (string | null)[], sharable = true): ColumnParams {
  if (sharable && allSame(values) && values[0] !== null) return ['{}', values[0]!]
  return NOT_SHARED(textArrayLiteral(values))
}

function numberColumn(values: readonly number[]): ColumnParams {
  if (allSame(values)) return ['{}', values[0]!]
  return NOT_SHARED(numberArrayLiteral(values))
}

/**
 * The fast path of a batch of new sends (distinct ids, no key): `insertNewSendBatch`, one statement on `db`
 * outside any transaction. `'conflict'` when an id (or a delivery) was already there: the statement then
 * wrote nothing, and the caller takes {@link insertBatch}'s path in a transaction.
 */
export async function insertNewBatch(
  db: SqlQueryable,
  sql: WriteStatements,
  sends: readonly StoredSend[],
  now: number,
  channel: string,
): Promise<InsertMessagesOutcome | 'conflict'> {
  try {
    await db.query(sql.insertNewSendBatch, batchParams(sends, now, channel))
  } catch (error) {
    if (sqlStateOf(error) === UNIQUE_VIOLATION) return 'conflict'
    throw error
  }
  // Every message and every delivery was inserted (anything else failed the statement).
  return { ok: true, results: sends.map((s) => ({ duplicate: false, deliveries: s.recipients.length })) }
}

/**
 * Inserts a batch of sends with distinct ids, their deliveries and — when a delivery was queued — the
 * wake-up on `channel` in one statement however large the batch is (one round trip: bench/store.bench.mjs);
 * a second only when an id was already taken, to tell a duplicate from another sender's id.
 */
export async function insertBatch(
  tx: SqlQueryable,
  sql: WriteStatements,
  sends: readonly StoredSend[],
  now: number,
  channel: string,
): Promise<InsertMessagesOutcome> {
  const rows = await tx.query<{ id: string | null; deliveries: number }>(
    sql.insertSendBatch,
    batchParams(sends, now, channel),
  )
  const inserted = new Map<string, number>()
  for (const row of rows) if (row.id !== null) inserted.set(row.id, row.deliveries)
  if (inserted.size < sends.length) {
    // Ids already taken: duplicates of the sender's own messages are fine, another sender's id refuses
    // the batch (the caller rolls the transaction back, deliveries and wake-up included).
    const taken = sends.filter((s) => !inserted.has(s.message.id)).map((s) => s.message.id)
    const owners = await tx.query<{ id: string; fromAgent: string }>(sql.messageSenders, [taken])
    const ownerOf = new Map(owners.map((row) => [row.id, row.fromAgent]))
    const foreignIdAt = sends.findIndex(
      (s) =>
        !inserted.has(s.message.id) &&
        // An id whose message vanished meanwhile (a concurrent cleanup) is a duplicate, as for one send.
        ownerOf.has(s.message.id) &&
        ownerOf.get(s.message.id) !== s.message.fromAgent,
    )
    if (foreignIdAt >= 0) return { ok: false, foreignIdAt }
  }
  return {
    ok: true,
    results: sends.map((s) => {
      const deliveries = inserted.get(s.message.id)
      return deliveries === undefined ? { duplicate: true, deliveries: 0 } : { duplicate: false, deliveries }
    }),
  }
}

/** Inserts one send and its deliveries; `'foreign'` when the id is another sender's (nothing written). */
export async function insertSend(
  tx: SqlQueryable,
  sql: WriteStatements,
  send: StoredSend,
  now: number,
): Promise<{ duplicate: boolean; deliveries: number } | 'foreign'> {
  const { message } = send
  const values = messageColumnValues(send)
  const priority = values[5]
  const [inserted] = await tx.query<{ seq: number }>(sql.insertMessage, values)
  if (inserted === undefined) {
    const [owner] = await tx.query<{ fromAgent: string }>(sql.messageSender, [message.id])
    return owner !== undefined && owner.fromAgent !== message.fromAgent
      ? 'foreign'
      : { duplicate: true, deliveries: 0 }
  }
  if (send.recipients.length === 0) return { duplicate: false, deliveries: 0 }
  const [row] = await tx.query<{ n: number }>(sql.insertDeliveries, [
    inserted.seq,
    send.recipients,
    priority,
    send.maxAttempts,
    send.availableAt,
    send.expiresAt,
    now,
  ])
  return { duplicate: false, deliveries: row!.n }
}
