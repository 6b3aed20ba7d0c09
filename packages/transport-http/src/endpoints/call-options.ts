import type { MessageV2 } from '@agent-comm/protocol'
import type { z } from 'zod'
import type { ConversationSummarySchema, HealthResponseSchema, SendRequest } from '../api.js'

/** Per-call options of every client method. */
export interface CallOptions {
  signal?: AbortSignal | undefined
}

/** Options of calls that are signed by an agent not named in the call. */
export interface AsAgentOptions extends CallOptions {
  /** The agent (or the relay's admin id) whose secret signs the call. */
  as: string
}

/** One send of a `RelayClient.sendBatch`. */
export type BatchItem = Omit<SendRequest, 'message'> & { message: MessageV2 }

/** What `GET /health` reports. */
export type RelayHealth = z.output<typeof HealthResponseSchema>

/** A thread as the relay lists it. */
export type RelayConversation = z.output<typeof ConversationSummarySchema>

/** Options of a claim: at most `limit` (1–100, 10) messages, their lease, and a long poll of `waitMs`. */
export type ClaimOptions = {
  limit?: number | undefined
  leaseSeconds?: number | undefined
  waitMs?: number | undefined
} & CallOptions

/**
 * Options of a nack: why, the lease's receipt, a delay before the retry, straight to dead letters — or a
 * hand-back of a message the consumer never began on (its claim's attempt given back).
 */
export type NackOptions = {
  reason?: string
  receipt?: string
  delaySeconds?: number
  deadLetter?: boolean
  handBack?: boolean
} & CallOptions

/**
 * Options of a reply claim: its lease, a long poll of `waitMs`, only a reply one of `from` sent — and, with
 * `operator`, one the relay's operator sent (an approval wait).
 */
export type ClaimReplyOptions = {
  leaseSeconds?: number
  waitMs?: number
  from?: readonly string[]
  operator?: boolean
} & CallOptions

/** Options of a lease extension: the lease's receipt and its new length from now. */
export type ExtendOptions = { receipt?: string; leaseSeconds?: number } & CallOptions

/** Filters of an agent listing, each matched exactly, signed as `as`. */
export type AgentListOptions = AsAgentOptions & {
  capability?: string
  status?: string
  device?: string
  transport?: string
}
