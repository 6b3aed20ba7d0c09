import { priorityRank } from '@agent-comm/protocol'
import type { InsertMessagesOutcome, StoredSend } from '@agent-comm/spool'
import { messageColumnValues } from '@agent-comm/spool/store'
import type { SqlQueryable } from './client.js'
import type { WriteStatements } from './statements.js'

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
  const column = <V>(pick: (send: StoredSend) => V): V[] => sends.map(pick)
  const priorities = column((s) => priorityRank(s.message.priority))
  const delivery: [string[], string[], number[], number[], number[], number[]] = [[], [], [], [], [], []]
  for (const [i, send] of sends.entries()) {
    for (const recipient of send.recipients) {
      delivery[0].push(send.message.id)
      delivery[1].push(recipient)
      delivery[2].push(priorities[i]!)
      delivery[3].push(send.maxAttempts)
      delivery[4].push(send.availableAt)
      delivery[5].push(send.expiresAt)
    }
  }
  const rows = await tx.query<{ id: string | null; deliveries: number }>(sql.insertSendBatch, [
    column((s) => s.message.id),
    column((s) => s.message.fromAgent),
    column((s) => s.message.toAgent),
    column((s) => s.message.subject),
    column((s) => s.message.body),
    priorities,
    column((s) => s.message.routing.conversationId),
    column((s) => s.message.routing.replyTo ?? null),
    column((s) => s.message.routing.ttlHours),
    column((s) => (s.message.payload === undefined ? null : JSON.stringify(s.message.payload))),
    column((s) => (s.message.metadata === undefined ? null : JSON.stringify(s.message.metadata))),
    column((s) => Date.parse(s.message.timestamp)),
    column((s) => s.expiresAt),
    ...delivery,
    now,
    channel,
  ])
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
