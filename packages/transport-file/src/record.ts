import type { DeliveryInfo, DeliveryStatus, MessageV2 } from '@agent-comm/protocol'
import { AgentIdSchema, expiresAt, MessageV2Schema, StorageError } from '@agent-comm/protocol'
import { z } from 'zod'
import type { DeliveryFolder, LeaseName } from './layout.js'

const IsoTime = z.iso.datetime({ offset: true })

/** The delivery half of a delivery file: where one message to one recipient stands. */
export const DeliveryStateSchema = z.object({
  recipient: AgentIdSchema,
  status: z.enum(['queued', 'leased', 'acked', 'failed']),
  /** Claims so far, from 0. */
  attempt: z.number().int().min(0),
  maxAttempts: z.number().int().min(1),
  /** When a queued delivery becomes claimable (for a leased one: when its lease runs out). */
  availableAt: IsoTime,
  leaseUntil: IsoTime.nullable(),
  /** Receipt of the claim that leased it (kept on acked and failed files to show which claim finished it). */
  receipt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  ackedAt: IsoTime.nullable(),
  /** Orders deliveries created in the same millisecond (a monotonic counter, not a time). */
  sequence: z.string(),
})

/** Where one delivery stands, as stored in its file. */
export type DeliveryState = z.output<typeof DeliveryStateSchema>

/** A delivery file: its state first (what a person looks for), then the complete message. */
export const DeliveryRecordSchema = z.object({ delivery: DeliveryStateSchema, message: MessageV2Schema })

/** The content of one delivery file (`inbox`, `leased`, `acked` or `failed`). */
export type DeliveryRecord = z.output<typeof DeliveryRecordSchema>

/** `messages/<id>.json`: the message as sent and who it went to. */
export const MessageRecordSchema = z.object({
  message: MessageV2Schema,
  recipients: z.array(AgentIdSchema),
  maxAttempts: z.number().int().min(1),
  createdAt: IsoTime,
})

/** The content of a message file. */
export type MessageRecord = z.output<typeof MessageRecordSchema>

/** Pretty JSON, so `cat` shows a readable file. */
export function serialize(record: DeliveryRecord | MessageRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`
}

function parseFile<S extends z.ZodType>(schema: S, text: string, path: string): z.output<S> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new StorageError(`File ${path} is not valid JSON`, {
      hint: 'It was probably edited by hand: fix it or move it out of the transport folders.',
      cause: error,
      details: { path },
    })
  }
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new StorageError(`File ${path} is not a valid agent-comm file: ${issues}`, {
    hint: 'It was probably edited by hand: fix it or move it out of the transport folders.',
    details: { path },
  })
}

/** Reads a delivery file's text; throws `StorageError` naming the file when it is damaged. */
export function parseDeliveryRecord(text: string, path: string): DeliveryRecord {
  return parseFile(DeliveryRecordSchema, text, path)
}

/** Reads a message file's text; throws `StorageError` naming the file when it is damaged. */
export function parseMessageRecord(text: string, path: string): MessageRecord {
  return parseFile(MessageRecordSchema, text, path)
}

/** ISO-8601 form of a time in ms. */
export const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * A leased file is settled when its content describes the lease its name holds. A claim (or extend, or
 * nack) first renames the file, then rewrites its content; in between, only the process that renamed it
 * may touch it, so everybody else waits for it to settle.
 */
export function isSettled(record: DeliveryRecord, lease: LeaseName): boolean {
  const d = record.delivery
  return (
    d.status === 'leased' &&
    d.receipt === lease.receipt &&
    d.leaseUntil !== null &&
    Date.parse(d.leaseUntil) === lease.leaseUntil
  )
}

/**
 * The attempt a leased file is on. The content of a claim that has not settled yet (or whose process died
 * before it could) still shows the attempt before the claim, and names another receipt.
 */
export function leaseAttempt(record: DeliveryRecord, lease: LeaseName): number {
  return record.delivery.receipt === lease.receipt ? record.delivery.attempt : record.delivery.attempt + 1
}

/** True once the message's time to live has run out: it is never delivered again. */
export function isExpired(message: MessageV2, now: number): boolean {
  return expiresAt(message) <= now
}

let lastSequence = 0n

/**
 * A counter that only grows, from the machine's monotonic clock, so deliveries sent in the same millisecond
 * (by this process or another on the same machine) keep their order. Zero-padded so it sorts as text.
 */
export function nextSequence(): string {
  const now = process.hrtime.bigint()
  lastSequence = now > lastSequence ? now : lastSequence + 1n
  return lastSequence.toString().padStart(20, '0')
}

/** A delivery file found on disk: which folder, its path, the lease its name holds (leased only), its content. */
export type FoundDelivery =
  | { folder: 'leased'; path: string; lease: LeaseName; record: DeliveryRecord }
  | { folder: Exclude<DeliveryFolder, 'leased'>; path: string; record: DeliveryRecord }

/** The public view of a delivery file. A live delivery past its TTL reads as `expired`. */
export function deliveryInfo(found: FoundDelivery, now: number): DeliveryInfo {
  const d = found.record.delivery
  const live = found.folder === 'inbox' || found.folder === 'leased'
  const folderStatus: DeliveryStatus = found.folder === 'inbox' ? 'queued' : found.folder
  return {
    recipient: d.recipient,
    status: live && isExpired(found.record.message, now) ? 'expired' : folderStatus,
    attempt: found.folder === 'leased' ? leaseAttempt(found.record, found.lease) : d.attempt,
    maxAttempts: d.maxAttempts,
    leaseUntil: found.folder === 'leased' ? iso(found.lease.leaseUntil) : null,
    availableAt: found.folder === 'inbox' ? d.availableAt : null,
    lastError: d.lastError,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    ackedAt: d.ackedAt,
  }
}
