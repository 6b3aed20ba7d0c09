import type { ClaimedMessage, Transport } from '@agent-comm/protocol'
import {
  AgentCommError,
  DEFAULT_REPLY_TIMEOUT_MS,
  isUnavailableError,
  RequestAbortedError,
  RequestTimeoutError,
  ValidationError,
} from '@agent-comm/protocol'
import { claimedAttributes, inSpan, recordReceive, SpanKind, settleParentOf } from './tracing.js'

/** Default time {@link Coordinator.request} and `awaitReply` wait for a reply: 60 s (the protocol's). */
export { DEFAULT_REPLY_TIMEOUT_MS } from '@agent-comm/protocol'

/** Longest single wait handed to a transport; the loop waits again until the deadline. */
const WAIT_SLICE_MS = 30_000

/**
 * The wait while a held request has no recipient yet (nobody may answer it): the loop looks again at its
 * recipients this often.
 */
const NO_REPLIER_WAIT_MS = 1_000

/**
 * The wait slice of a request still held for agents that register later: the agents that may answer are
 * read again this often, so an answer from one that registered during the wait is taken within it, not at
 * the end of a 30 s slice.
 */
const HELD_WAIT_SLICE_MS = 1_000

/** Who may answer a request now ({@link takeReply} asks at each wait slice). */
export interface Repliers {
  from: readonly string[]
  /** The request awaits an approval decision: the store's operator may answer too (see `repliersOf`). */
  operator: boolean
  /** The request is held: agents registering later receive it, and may answer it too. */
  held: boolean
}

/**
 * Pauses while the relay is out of reach (a restart, a graceful stop): the first, doubled after each
 * failed try up to the second. A restart takes a second or two; the wait outlasts it within its deadline.
 */
const OUTAGE_FIRST_PAUSE_MS = 200
const OUTAGE_MAX_PAUSE_MS = 2_000

/** Options of `Coordinator.awaitReply` (and the wait of `Coordinator.request`). */
export interface AwaitReplyOptions {
  /** Give up after this many ms with a `TIMEOUT` error carrying the request id (default 60 000). */
  timeoutMs?: number | undefined
  /**
   * Stops the wait: rejects with a `RequestAbortedError` (`ABORTED`) carrying `requestId`, whose `cause` is
   * the signal's reason. The request and any reply stay stored. A `request` whose signal is aborted before
   * it is called sends nothing and rejects with the signal's reason.
   */
  signal?: AbortSignal | undefined
  /** Lease of the reply while it is acked (seconds, default: the coordinator's). */
  leaseSeconds?: number | undefined
}

/**
 * Refuses a requester whose transport cannot claim one reply (the file transport): checked before a
 * request is sent, so a refused request is never left behind unanswered.
 */
export function assertAwaitsReplies(transport: Transport, requester: string): void {
  if (transport.claimReply !== undefined) return
  throw new ValidationError(
    `Agent '${requester}' receives through the ${transport.kind} transport, which cannot wait for one reply`,
    [{ path: 'fromAgent', message: `a requester on the ${transport.kind} transport cannot await replies` }],
    {
      hint: 'Send the request from an agent on the sqlite or http transport, or send it and poll for the reply.',
    },
  )
}

/**
 * Waits on `transport` until `requester` has a reply to `requestId` from one of the agents `repliers` names
 * (asked again at each wait slice: a held request gains recipients), claims only that reply and acks it:
 * replies to the requester's other requests, its ordinary messages and another agent's message posing as the
 * reply are never touched. Real time bounds the wait (an injected clock does not move timers); a timeout
 * rejects with {@link RequestTimeoutError}, the caller's signal with {@link RequestAbortedError}: both name the
 * request, so the caller can wait again.
 */
export async function takeReply(
  transport: Transport,
  requester: string,
  requestId: string,
  options: AwaitReplyOptions & { leaseSeconds: number; repliers: () => Promise<Repliers> },
): Promise<ClaimedMessage> {
  assertAwaitsReplies(transport, requester)
  const claimReply = (transport.claimReply as NonNullable<Transport['claimReply']>).bind(transport)
  const timeoutMs = options.timeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS
  const timer = new AbortController()
  const handle = setTimeout(() => timer.abort(), timeoutMs)
  const signal = options.signal === undefined ? timer.signal : AbortSignal.any([timer.signal, options.signal])
  const started = performance.now()
  // The relay (or database) out of reach since the last try that reached it: the error, and the pause after it.
  let outage: { error: unknown; pauseMs: number } | undefined
  /** Pauses after `error` if it is a relay or database out of reach and time is left; otherwise throws. */
  const outlast = async (error: unknown): Promise<void> => {
    if (!isUnavailableError(error)) throw error
    const left = Math.max(0, timeoutMs - (performance.now() - started))
    if (left === 0) throw new ReplyWaitUnavailableError(requestId, error as AgentCommError)
    const pauseMs =
      outage === undefined ? OUTAGE_FIRST_PAUSE_MS : Math.min(outage.pauseMs * 2, OUTAGE_MAX_PAUSE_MS)
    outage = { error, pauseMs }
    await abortableDelay(Math.min(pauseMs, left), signal)
  }
  try {
    for (;;) {
      if (options.signal?.aborted) throw new RequestAbortedError(requestId, options.signal.reason)
      if (timer.signal.aborted) {
        // Still out of reach when time ran out: say so (with the request id), not "no reply".
        if (outage !== undefined)
          throw new ReplyWaitUnavailableError(requestId, outage.error as AgentCommError)
        throw new RequestTimeoutError(requestId, timeoutMs)
      }
      const left = Math.max(0, timeoutMs - (performance.now() - started))
      let from: readonly string[]
      let held: boolean
      let operator: boolean
      try {
        ;({ from, held, operator } = await options.repliers())
      } catch (error) {
        await outlast(error)
        continue
      }
      if (from.length === 0) {
        // Nobody may answer yet: look again shortly, or time out.
        if (left === 0) throw new RequestTimeoutError(requestId, timeoutMs)
        await abortableDelay(Math.min(NO_REPLIER_WAIT_MS, left), signal)
        continue
      }
      const waitMs = Math.min(held ? HELD_WAIT_SLICE_MS : WAIT_SLICE_MS, left)
      let claimed: ClaimedMessage | undefined
      try {
        // One claim span per wait slice (a wait cut short by the timer or the caller ends it unclaimed).
        claimed = await inSpan(
          'agent-comm claim',
          SpanKind.CONSUMER,
          () => ({
            'messaging.system': 'agent-comm',
            'agent_comm.agent': requester,
            'agent_comm.reply_to': requestId,
          }),
          async (span) => {
            const found = await claimReply(requester, requestId, {
              from,
              ...(operator ? { operator } : {}),
              leaseSeconds: options.leaseSeconds,
              waitMs,
              signal,
            }).catch((error: unknown) => {
              if (signal.aborted) return undefined
              throw error
            })
            span?.setAttribute('messaging.batch.message_count', found === undefined ? 0 : 1)
            if (found !== undefined) {
              if (span?.isRecording()) span.setAttributes(claimedAttributes(found))
              recordReceive(found)
            }
            return found
          },
        )
      } catch (error) {
        // The wait was cut short by our own timer or the caller: say which, not "aborted". A relay out of
        // reach is waited out (the request is delivered; its reply will wait on the relay).
        if (!signal.aborted) await outlast(error)
        continue
      }
      outage = undefined
      if (claimed !== undefined) {
        const reply = claimed
        for (;;) {
          try {
            await inSpan(
              'agent-comm ack',
              SpanKind.INTERNAL,
              () => claimedAttributes(reply),
              () => transport.ack(reply.message.id, requester, { receipt: reply.lease.receipt }),
              settleParentOf(reply.message),
            )
            return claimed
          } catch (error) {
            // The reply is leased to us: ack it once the relay is back (a lease lost meanwhile fails here).
            await outlast(error)
            options.signal?.throwIfAborted()
          }
        }
      }
      if (waitMs === 0) throw new RequestTimeoutError(requestId, timeoutMs)
    }
  } finally {
    clearTimeout(handle)
  }
}

/**
 * A wait for a reply that ended with the relay or database out of reach (still down at the deadline): the
 * transport's error — its code and details — naming the request, which stays
 * delivered, and how to wait again (as {@link RequestTimeoutError} does). `requestId` says which request.
 */
export class ReplyWaitUnavailableError extends AgentCommError {
  readonly requestId: string

  constructor(requestId: string, error: AgentCommError) {
    super(
      error.code,
      `The wait for the reply to request '${requestId}' ended with the ${outOfReach(error)} out of reach: ${error.message}`,
      {
        hint: `The request stays delivered and its reply will wait for the requester: once the ${outOfReach(error)} is back, wait again with awaitReply('${requestId}') (MCP: comm_await_reply). ${error.hint ?? ''}`.trim(),
        details: { ...error.details, requestId },
        cause: error,
      },
    )
    this.requestId = requestId
  }
}

/** What an unavailable error says is out of reach: the relay (its errors carry a relay code) or the database. */
function outOfReach(error: AgentCommError): 'relay' | 'database' {
  return error.details.relayCode === undefined ? 'database' : 'relay'
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller's loop then tells why). */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
