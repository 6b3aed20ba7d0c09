import { priorityRank } from '@agent-comm/protocol'
import type { InsertMessagesOutcome, StoredSend } from '@agent-comm/spool'
import type { SqlQueryable } from './client.js'
import type { WriteStatements } from './statements.js'

/**
 * Inserts a batch of sends with distinct ids in three statements however large it is: the messages, the
 * senders of the ids already taken, the deliveries of the new ones.
 */
export async function insertBatch(
  tx: SqlQueryable,
  sql: WriteStatements,
  sends: readonly StoredSend[],
  now: number,
): Promise<InsertMessagesOutcome> {
  const column = <V>(pick: (send: StoredSend) => V): V[] => sends.map(pick)
  const priorities = column((s) => priorityRank(s.message.priority))
  const inserted = await tx.query<{ seq: number; id: string }>(sql.insertMessageBatch, [
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
  ])
  const seqById = new Map(inserted.map((row) => [row.id, row.seq]))
  if (seqById.size < sends.length) {
    const taken = sends.filter((s) => !seqById.has(s.message.id)).map((s) => s.message.id)
    const owners = await tx.query<{ id: string; fromAgent: string }>(sql.messageSenders, [taken])
    const ownerOf = new Map(owners.map((row) => [row.id, row.fromAgent]))
    const foreignIdAt = sends.findIndex(
      (s) => !seqById.has(s.message.id) && ownerOf.get(s.message.id) !== s.message.fromAgent,
    )
    if (foreignIdAt >= 0) return { ok: false, foreignIdAt }
  }
  const rows: [number, string, number, number, number, number][] = []
  for (const [i, send] of sends.entries()) {
    const seq = seqById.get(send.message.id)
    if (seq === undefined) continue
    for (const recipient of send.recipients)
      rows.push([seq, recipient, priorities[i]!, send.maxAttempts, send.availableAt, send.expiresAt])
  }
  const queued = new Map<number, number>()
  if (rows.length > 0) {
    const created = await tx.query<{ messageSeq: number }>(sql.insertDeliveryBatch, [
      ...[0, 1, 2, 3, 4, 5].map((k) => rows.map((row) => row[k])),
      now,
    ])
    for (const { messageSeq } of created) queued.set(messageSeq, (queued.get(messageSeq) ?? 0) + 1)
  }
  return {
    ok: true,
    results: sends.map((s) => {
      const seq = seqById.get(s.message.id)
      return seq === undefined
        ? { duplicate: true, deliveries: 0 }
        : { duplicate: false, deliveries: queued.get(seq) ?? 0 }
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
  const priority = priorityRank(message.priority)
  const [inserted] = await tx.query<{ seq: number }>(sql.insertMessage, [
    message.id,
    message.fromAgent,
    message.toAgent,
    message.subject,
    message.body,
    priority,
    message.routing.conversationId,
    message.routing.replyTo ?? null,
    message.routing.ttlHours,
    message.payload === undefined ? null : JSON.stringify(message.payload),
    message.metadata === undefined ? null : JSON.stringify(message.metadata),
    Date.parse(message.timestamp),
    send.expiresAt,
  ])
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
