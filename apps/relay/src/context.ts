import type { ServerResponse } from 'node:http'
import { type Clock, sentOrReceivedBy } from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { SecretInfo } from '@agent-comm/secrets'
import type { Spool } from '@agent-comm/spool'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Caller, SecretSource } from './auth.js'
import { forbidden } from './http-errors.js'
import type { WaitKind } from './limits.js'
import type { RelayMetrics } from './metrics.js'
import type { ParkedPolls } from './parked-polls.js'

/** The secret store as the relay uses it: lookups for auth, and a listing for the admin. */
export interface RelaySecrets extends SecretSource {
  /** The agents that have secrets, with dates (never the secrets); listed by `GET /admin/agents`. */
  list?(): Promise<SecretInfo[]>
}

/** Settings the routes read, with defaults applied. */
export interface RelaySettings {
  /** How often an idle event stream sends a keep-alive comment, in ms. */
  streamKeepAliveMs: number
  /** Reported by health and the OpenAPI document. */
  version: string
  /** The operator's agent id (`--admin-id`): it may decide any approval request in the console. */
  adminId: string
}

/** Bounds on a send's fan-out (see `RelayOptions`). */
export interface FanOutLimits {
  /** Most distinct recipients of one message, explicit or resolved from `*` / `capability:`. */
  maxRecipientsPerMessage: number
  /** Most deliveries one request may create (never more than the per-agent rate limit allows). */
  maxDeliveriesPerRequest: number
  /** Deliveries written per transaction; the event loop is yielded between transactions. */
  chunkDeliveries: number
}

/** Everything the route handlers work with, built once by `createRelay`. */
export interface RelayContext {
  spool: Spool
  registry: Registry
  secrets: RelaySecrets
  clock: Clock
  metrics: RelayMetrics
  /** Aborted when the relay starts closing: long polls answer and streams end. */
  shutdown: AbortSignal
  /** Long polls and streams parked here, woken by the sends this relay stores. */
  parked: ParkedPolls
  /** Resolves while the database answers (readiness); rejects when it does not. */
  ready(): Promise<void>
  settings: RelaySettings
  fanOut: FanOutLimits
  /**
   * Charges `units` more of the caller's per-agent rate limit (each request already paid one), throwing
   * 429 RATE_LIMITED when they do not fit; a no-op when the relay has no rate limit.
   */
  charge(caller: Caller, units: number): void
  /**
   * Takes one of `agentId`'s slots for a long poll or an event stream (see `RelayLimits.holdWait`): the
   * function that gives it back, or 429 TOO_MANY_WAITS (counted in the metrics) when it holds the most.
   */
  holdWait(agentId: string, kind: WaitKind): () => void
  /** Whether the relay is shedding requests for overload now (the health endpoints say so). */
  underPressure(): boolean
}

/** Only `agentId` itself may act on its deliveries; not even the admin, whose job is operating the relay. */
export function requireSelf(caller: Caller, agentId: string, what: string): void {
  if (caller.agentId !== agentId) {
    throw forbidden(
      `Agent '${caller.agentId}' may not ${what} of agent '${agentId}'`,
      `Sign the request as '${agentId}', with its own secret.`,
    )
  }
}

/** `agentId` itself or the admin. */
export function requireSelfOrAdmin(caller: Caller, agentId: string, what: string): void {
  if (!caller.admin && caller.agentId !== agentId) {
    throw forbidden(
      `Agent '${caller.agentId}' may not ${what} agent '${agentId}'`,
      `Sign the request as '${agentId}' or as the relay's admin.`,
    )
  }
}

/**
 * A signal that aborts when the client goes away (the response closes before it was sent) or the relay
 * shuts down: a long poll or stream waiting on it stops at once instead of holding the spool's watcher.
 */
export function connectionSignal(reply: FastifyReply, shutdown: AbortSignal): AbortSignal {
  const gone = new AbortController()
  reply.raw.once('close', () => gone.abort(CONNECTION_CLOSED))
  return AbortSignal.any([gone.signal, shutdown])
}

/**
 * The reason a connection's signal aborts with. Given rather than left to `abort()`, which makes a
 * `DOMException` (a stack trace) each time: `close` comes after every answered long poll, not only a client
 * that went away. Nothing reads the reason; the signal's `aborted` is what the waits look at.
 */
const CONNECTION_CLOSED = new Error('The connection closed')

/** A server-sent event stream a route handler writes itself (see {@link openEventStream}). */
export interface EventStream {
  res: ServerResponse
  /** Aborts when the client goes away or the relay shuts down. */
  signal: AbortSignal
  /** Ends the response; on shutdown its socket too, or its keep-alive would hold the server open. */
  end(): void
}

/**
 * Takes `reply` over for a `text/event-stream` answer: its headers (no caching, no buffering by a proxy in
 * front), a first comment so the client sees the stream open, and the signal it stops on. `release` gives
 * back the slot the stream was counted in (see `RelayContext.holdWait`) when it cannot open; once it is
 * open, the handler gives it back on its own way out.
 */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  shutdown: AbortSignal,
  release?: () => void,
): EventStream {
  try {
    return startEventStream(request, reply, shutdown)
  } catch (error) {
    release?.()
    throw error
  }
}

function startEventStream(request: FastifyRequest, reply: FastifyReply, shutdown: AbortSignal): EventStream {
  const signal = connectionSignal(reply, shutdown)
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  })
  res.write(': connected\n\n')
  const end = () =>
    res.end(() => {
      if (shutdown.aborted) res.socket?.destroy()
    })
  return { res, signal, end }
}

/**
 * Whether `caller` may see a message: the admin, its sender, or an agent it was delivered to. To anyone
 * else it does not exist (404 MESSAGE_NOT_FOUND), so ids cannot be probed.
 */
export function mayRead(
  caller: Caller,
  status: { message: { fromAgent: string }; deliveries: readonly { recipient: string }[] },
): boolean {
  return caller.admin || sentOrReceivedBy(status, caller.agentId)
}
