import { createMessage, expiresAt, type MessageInput, type MessageV2 } from '@agent-comm/protocol'
import type { ClaimParams, MessageRecord, StoredSend } from '@agent-comm/spool'
import { storedMessageFromRow } from '@agent-comm/spool/store'

/** Fixed test time: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1)

/** A validated send as the spool would hand it to a store. */
export function send(
  input: Partial<MessageInput> & { toAgent?: string },
  options: { recipients?: string[]; availableAt?: number; maxAttempts?: number; now?: number } = {},
): StoredSend {
  const now = options.now ?? T0
  const message = createMessage(
    {
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task',
      body: 'Do it',
      timestamp: new Date(now).toISOString(),
      ...input,
    } as MessageInput,
    { clock: { now: () => now } },
  )
  return {
    message,
    recipients: options.recipients ?? [message.toAgent],
    availableAt: options.availableAt ?? now,
    maxAttempts: options.maxAttempts ?? 3,
    expiresAt: expiresAt(message),
  }
}

/** A decode that refuses a row whose payload or metadata is not JSON (the spool's checks are stricter). */
export function decode(row: MessageRecord): { value: MessageV2 } | { unreadable: string } {
  const { message, unreadable } = storedMessageFromRow(row)
  if (unreadable !== undefined) return { unreadable: `its ${unreadable[0]!.column} is not valid JSON` }
  return { value: message }
}

/** Claim parameters for `recipient` at `now` with a lease of `leaseMs`. */
export function claimAt(
  recipient: string,
  now: number,
  options: { limit?: number; leaseMs?: number; receipt?: string } = {},
): ClaimParams<MessageV2> {
  return {
    recipient,
    now,
    leaseUntil: now + (options.leaseMs ?? 60_000),
    limit: options.limit ?? 10,
    receipt: options.receipt ?? `r${now}`,
    decode,
  }
}
