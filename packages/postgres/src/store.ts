import type { Clock, Logger, MessageV2 } from '@agent-comm/protocol'
import {
  BROADCAST_TARGET,
  CAPABILITY_TARGET_PREFIX,
  ClosedError,
  StorageError,
  silentLogger,
} from '@agent-comm/protocol'
import type {
  AckAndClaimOutcome,
  AckAndClaimParams,
  AckManyOutcome,
  AckManyParams,
  ChangeOutcome,
  ClaimedRecord,
  ClaimMessageParams,
  ClaimOutcome,
  ClaimParams,
  ClaimReplyParams,
  CleanupReport,
  ConversationSummary,
  DeliveryParams,
  DeliveryState,
  ExtendLeaseOutcome,
  ExtendLeaseParams,
  FailedDelivery,
  HoldMessageParams,
  InsertMessagesOutcome,
  InsertMessagesParams,
  InsertResult,
  MessageRecord,
  MessageStatus,
  PendingDelivery,
  ReleaseHeldParams,
  ReleaseOutcome,
  ReplyQuery,
  RequeueFailedOutcome,
  RequeueFailedParams,
  SpoolStats,
  SpoolStore,
  StoreReleaseParams,
  StoreSearchParams,
  VerifyReport,
  WithdrawParams,
} from '@agent-comm/spool'
import type { ExportRowsParams, ImportRowsParams } from '@agent-comm/spool/copy'
import { COPY_BATCH_ROWS } from '@agent-comm/spool/copy'
import { textArrayLiteral } from './array-literal.js'
import { ChangeFeed } from './change-feed.js'
import type { SqlClient, SqlQueryable } from './client.js'
import { exportPostgresRows, importPostgresRows } from './copy.js'
import { toStorageError } from './drivers/driver-errors.js'
import { claimIdempotencyKey, type IdempotencyStatements, idempotencyStatements } from './idempotency.js'
import { insertBatch, insertNewBatch, insertSend } from './insert.js'
import { Inspector } from './inspect.js'
import { validateSchemaName } from './migrate.js'
import { type ReplyStatements, replyStatements } from './replies.js'
import type { Row } from './rows.js'
import { ServerClock } from './server-clock.js'
import { type ClaimCommit, type WriteStatements, writeStatements } from './statements.js'

/** Whole-database work (verify, a copy's export and import) runs as long as the database's size needs. */
const UNBOUNDED = { unbounded: true } as const

/** A row a reply or message claim leased: the message with its delivery's lease. */
type ClaimedRow = Row<
  MessageRecord & { deliveryId: number; attempt: number; maxAttempts: number; receipt: string }
>

/** What a {@link PostgresSpoolStore} is built from (see `openPostgresSpoolStore`, which also migrates). */
export interface PostgresSpoolStoreOptions {
  client: SqlClient
  /** The PostgreSQL schema holding the spool's tables (default `agent_comm`). */
  schema: string
  /** Where the data is, safe to show: the URL without its password. */
  location: string
  /** Whether `close()` ends the client (true when the store made it). */
  ownsClient: boolean
  logger?: Logger
  /**
   * The clock a spool on this store uses when given none — the openers pass the server's
   * ({@link ServerClock}), which the store stops on `close()`.
   */
  clock?: Clock
  /**
   * How claims and acks commit: `durable` (default) waits for the WAL flush, `relaxed` does not, so a
   * crash of the PostgreSQL server may forget the last leases and acks — a redelivery, never a lost
   * message; sends always wait. See {@link ClaimCommit}.
   */
  claimCommit?: ClaimCommit
}

/**
 * The advisory lock that orders holding a group message against registering an agent, per schema. Under
 * READ COMMITTED a registration's release could otherwise miss a hold committing just after its statement
 * began, while the sender's re-read of the registry missed the registration still uncommitted: the agent
 * would get nothing. A hold takes it shared, a registration that releases held messages exclusively, so
 * one of the two always sees the other (SQLite's BEGIN IMMEDIATE gives the same order).
 */
export const HOLDS_LOCK_SQL = {
  shared: 'SELECT pg_advisory_xact_lock_shared(hashtext($1))',
  exclusive: 'SELECT pg_advisory_xact_lock(hashtext($1))',
  key: (schema: string): string => `agent_comm.holds.${schema}`,
} as const

/**
 * The payload of a notification on the schema's channel that says the registry changed (the spool's own
 * wake-ups have an empty payload): heard by registry stores, ignored by the spool's change feed.
 */
export const REGISTRY_CHANGED = 'registry'

/** The notification channel of a schema's spool: one per schema, so two spools never wake each other. */
export function notifyChannel(schema: string): string {
  return `agent_comm_${schema}`
}

/** A row a claim statement returns (see `claim` in statements.ts): with the delivery as it was before. */
type LeasedRow = ClaimedRow & { previous: string }

/** An error thrown by the caller's own callback (`decode`, `availableAt`): it passes through unchanged. */
class CallerError {
  readonly error: unknown
  constructor(error: unknown) {
    this.error = error
  }
}

/** Runs a caller's callback, marking what it throws as the caller's (rolled back, not a storage failure). */
function callerCode<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw new CallerError(error)
  }
}

/** Thrown inside a transaction to roll it back with an outcome to report; never leaves the store. */
class Rollback<T> {
  readonly outcome: T
  constructor(outcome: T) {
    this.outcome = outcome
  }
}

/**
 * The spool's storage on PostgreSQL: the same semantics as the embedded SQLite store, for many processes
 * and machines. Each method is one transaction; claims lock with `FOR UPDATE SKIP LOCKED`; every write that
 * makes a delivery claimable sends one `pg_notify` on the schema's channel in its own transaction, which
 * `watch` hears on one listening connection per store.
 */
export class PostgresSpoolStore implements SpoolStore {
  readonly kind = 'postgres'
  readonly readonly = false
  readonly location: string
  readonly clock: Clock | undefined
  /** The schema holding this store's tables. */
  readonly schema: string
  readonly #client: SqlClient
  readonly #ownsClient: boolean
  readonly #logger: Logger
  readonly #sql: WriteStatements
  readonly #keySql: IdempotencyStatements
  readonly #replySql: ReplyStatements
  readonly #inspect: Inspector
  readonly #channel: string
  readonly #feed: ChangeFeed
  /** Calls still running: `close()` lets them finish before it ends the pool (see `#track`). */
  readonly #inFlight = new Set<Promise<unknown>>()
  #closed = false

  constructor(options: PostgresSpoolStoreOptions) {
    this.schema = validateSchemaName(options.schema)
    this.location = options.location
    this.#client = options.client
    this.#ownsClient = options.ownsClient
    this.#logger = options.logger ?? silentLogger
    this.#sql = writeStatements(this.schema, options.claimCommit)
    this.#keySql = idempotencyStatements(this.schema)
    this.#replySql = replyStatements(this.schema, options.claimCommit)
    this.#inspect = new Inspector(this.schema)
    this.#channel = notifyChannel(this.schema)
    // The registry's change notifications share the channel: they wake no claimer.
    this.#feed = new ChangeFeed(this.#client, this.#channel, this.location, this.#logger, {
      accept: (payload) => payload !== REGISTRY_CHANGED,
    })
    this.clock = options.clock
  }

  async insertMessages(params: InsertMessagesParams): Promise<InsertMessagesOutcome> {
    try {
      return await this.#insertMessagesOnce(params)
    } catch (error) {
      // A connection lost before the answer came leaves it unknown whether the send committed: reported
      // as a failure, a send that was stored would be sent again as a new message by whoever retries it.
      // A send is idempotent (the same ids, or the same keys, from the same sender are recognised as
      // duplicates of what is stored), so it runs once more on a new connection: that stores it, or finds
      // it stored. If that fails too, the first failure is the one reported.
      if (!(error instanceof StorageError) || error.details.reason !== 'connection-lost') throw error
      return this.#insertMessagesOnce(params).catch(() => {
        throw error
      })
    }
  }

  async #insertMessagesOnce(params: InsertMessagesParams): Promise<InsertMessagesOutcome> {
    if (params.sends.some((send) => send.idempotency !== undefined)) return this.#insertKeyed(params)
    const ids = new Set(params.sends.map((send) => send.message.id))
    if (ids.size === params.sends.length) {
      // New ids, the usual case: one statement, no transaction (see insertNewBatch). A taken id falls
      // through to the transaction below, which tells a duplicate from another sender's id.
      const fast = await this.#read((db) =>
        insertNewBatch(db, this.#sql, params.sends, params.now, this.#channel),
      )
      if (fast !== 'conflict') return fast
    }
    return this.#transaction(async (tx) => {
      if (ids.size === params.sends.length) {
        // One statement, the wake-up included (see insertBatch).
        const outcome = await insertBatch(tx, this.#sql, params.sends, params.now, this.#channel)
        if (!outcome.ok) throw new Rollback<InsertMessagesOutcome>(outcome)
        return outcome
      }
      // The same id twice in one batch: message by message, so the later one is the duplicate.
      const results: { duplicate: boolean; deliveries: number }[] = []
      let outcome: InsertMessagesOutcome = { ok: true, results }
      for (const [index, send] of params.sends.entries()) {
        const result = await insertSend(tx, this.#sql, send, params.now)
        if (result === 'foreign') {
          outcome = { ok: false, foreignIdAt: index }
          break
        }
        results.push(result)
      }
      if (!outcome.ok) throw new Rollback<InsertMessagesOutcome>(outcome)
      if (outcome.results.some((r) => r.deliveries > 0)) await this.#notify(tx)
      return outcome
    })
  }

  /**
   * A batch with idempotency keys, message by message in one transaction: a keyed send whose sender's key
   * is live is a duplicate of the message the key stored; any other is inserted as usual.
   */
  async #insertKeyed(params: InsertMessagesParams): Promise<InsertMessagesOutcome> {
    return this.#transaction(async (tx) => {
      const results: InsertResult[] = []
      for (const [index, send] of params.sends.entries()) {
        if (send.idempotency !== undefined) {
          const originalId = await claimIdempotencyKey(tx, this.#keySql, send, params.now)
          if (originalId !== undefined) {
            results.push({ duplicate: true, deliveries: 0, originalId })
            continue
          }
        }
        const result = await insertSend(tx, this.#sql, send, params.now)
        if (result === 'foreign') throw new Rollback<InsertMessagesOutcome>({ ok: false, foreignIdAt: index })
        results.push(result)
      }
      if (results.some((r) => r.deliveries > 0)) await this.#notify(tx)
      return { ok: true, results }
    })
  }

  async holdMessage(params: HoldMessageParams): Promise<{ foreignId: boolean }> {
    return this.#transaction(async (tx) => {
      await tx.query(HOLDS_LOCK_SQL.shared, [HOLDS_LOCK_SQL.key(this.schema)])
      const result = await insertSend(tx, this.#sql, params.send, params.now)
      if (result === 'foreign') return { foreignId: true }
      await tx.query(this.#sql.setHold, [params.send.message.id, params.heldUntil, params.send.maxAttempts])
      if (result.deliveries > 0) await this.#notify(tx)
      return { foreignId: false }
    })
  }

  async releaseHeld(params: ReleaseHeldParams): Promise<number> {
    const targets = [BROADCAST_TARGET, ...params.capabilities.map((c) => `${CAPABILITY_TARGET_PREFIX}${c}`)]
    return this.#transaction(async (tx) => {
      const [row] = await tx.query<{ n: number }>(this.#sql.releaseHeld, [
        params.agentId,
        params.now,
        params.defaultMaxAttempts,
        targets,
      ])
      const released = row!.n
      if (released > 0) await this.#notify(tx)
      return released
    })
  }

  async claim<T>(params: ClaimParams<T>): Promise<ClaimOutcome<T>> {
    // The claim statement runs on its own, with no transaction around it: one round trip instead of three
    // (BEGIN, claim, COMMIT), which bench/store.bench.mjs measures on every batched claim. The statement
    // alone is atomic (it leases what it returns, SKIP LOCKED, and fails the recipient's exhausted leases:
    // see `claim` in statements.ts). See `#claimIn` for a row `decode` refuses or throws on.
    return this.#read((db) => this.#claimIn(db, params))
  }

  async ackAndClaim<T>(params: AckAndClaimParams<T>): Promise<AckAndClaimOutcome<T>> {
    const fast = await this.#ackAllAndClaim(params)
    if (fast !== undefined) return fast
    return this.#transaction(async (tx): Promise<AckAndClaimOutcome<T>> => {
      const { items, now } = params.acks
      const alreadyAcked: boolean[] = []
      // Item by item (a consumer settles one or a few): the first refused ack rolls everything back.
      for (let index = 0; index < items.length; index++) {
        const item = items[index]!
        const rows = await tx.query(this.#sql.ack, [item.messageId, item.recipient, item.receipt, now])
        if (rows.length > 0) {
          alreadyAcked.push(false)
          continue
        }
        const state = await this.#state(tx, item.messageId, item.recipient)
        if (state?.status !== 'acked')
          throw new Rollback<AckAndClaimOutcome<T>>({ ok: false, refusedAt: index, state })
        alreadyAcked.push(true)
      }
      return { ok: true, alreadyAcked, ...(await this.#claimIn(tx, params.claim)) }
    })
  }

  /**
   * The usual settle-and-claim — acks that all carry a receipt, each naming another delivery — as one
   * statement with no transaction around it (`ackAllByReceiptAndClaim`: one round trip and one commit).
   * Undefined when it does not apply or an ack did not (the statement then changed nothing the transaction
   * path would not): the caller takes the transaction path, which tells refused acks from done ones.
   */
  async #ackAllAndClaim<T>(params: AckAndClaimParams<T>): Promise<AckAndClaimOutcome<T> | undefined> {
    const { items, now } = params.acks
    const claim = params.claim
    if (items.length === 0 || now !== claim.now || items.some((i) => i.receipt === null)) return undefined
    if (new Set(items.map((i) => i.receipt)).size !== items.length) return undefined
    return this.#read(async (db) => {
      const rows = await db.query<LeasedRow & { acked: number }>(this.#sql.ackAllByReceiptAndClaim, [
        claim.recipient,
        claim.now,
        claim.limit,
        claim.leaseUntil,
        claim.receipt,
        textArrayLiteral(items.map((i) => i.messageId)),
        textArrayLiteral(items.map((i) => i.recipient)),
        textArrayLiteral(items.map((i) => i.receipt)),
        items.length,
      ])
      if (rows[0]?.acked !== items.length) return undefined
      const claimed = rows.filter((row) => row.deliveryId !== null)
      return {
        ok: true,
        alreadyAcked: new Array<boolean>(items.length).fill(false),
        ...(await this.#claimIn(db, claim, claimed)),
      }
    })
  }

  /**
   * One claim on `db`: alone (`claim`, one atomic statement per round) or inside `ackAndClaim`'s transaction.
   * A row `decode` refuses — written by hand or by another program, never by a spool — is dead-lettered by a
   * statement of its own right after, and the claim takes more in its place until it is full or nothing
   * claimable is left; each round leases or dead-letters every row it takes, so the loop ends. When `decode`
   * throws (a bug), the rows this call took are put back as they were (`restoreClaimed`), as a rolled-back
   * transaction would have left them. Were the process to die in between, they would stay leased until
   * their lease ran out, as if their consumer had crashed.
   */
  async #claimIn<T>(db: SqlQueryable, params: ClaimParams<T>, first?: LeasedRow[]): Promise<ClaimOutcome<T>> {
    const { recipient, now, leaseUntil, limit, receipt } = params
    const claimed: ClaimedRecord<T>[] = []
    const deadLettered: { messageId: string; reason: string }[] = []
    const taken: { id: number; fence: string | null; previous: string }[] = []
    try {
      let given = first
      while (claimed.length < limit) {
        // The rows a settle-and-claim statement already leased come first (see `#ackAllAndClaim`).
        const rows =
          given ??
          (await db.query<LeasedRow>(this.#sql.claim, [
            recipient,
            now,
            limit - claimed.length,
            leaseUntil,
            receipt,
          ]))
        given = undefined
        if (rows.length === 0) break
        for (const row of rows) taken.push({ id: row.deliveryId, fence: row.receipt, previous: row.previous })
        let refused = 0
        for (const row of rows) {
          const decoded = callerCode(() => params.decode(row))
          if ('unreadable' in decoded) {
            await db.query(this.#sql.deadLetterClaimed, [row.deliveryId, now, decoded.unreadable])
            taken.find((t) => t.id === row.deliveryId)!.fence = null
            deadLettered.push({ messageId: row.id, reason: decoded.unreadable })
            refused++
            continue
          }
          claimed.push({
            value: decoded.value,
            deliveryId: row.deliveryId,
            attempt: row.attempt,
            maxAttempts: row.maxAttempts,
            receipt: row.receipt,
          })
        }
        if (refused === 0) break
      }
    } catch (error) {
      if (error instanceof CallerError && taken.length > 0) {
        await db.query(this.#sql.restoreClaimed, [
          taken.map((t) => t.id),
          taken.map((t) => t.fence),
          taken.map((t) => t.previous),
        ])
      }
      throw error
    }
    return { claimed, deadLettered }
  }

  async ack(params: DeliveryParams): Promise<ChangeOutcome> {
    // One statement, no transaction around it: one round trip. When it changed nothing, the state is read
    // afterwards, as it was in a transaction (READ COMMITTED reads a fresh snapshot per statement anyway).
    return this.#read(async (db) => {
      const rows = await db.query(this.#sql.ack, this.#fence(params))
      if (rows.length > 0) return { changed: true }
      return { changed: false, state: await this.#state(db, params.messageId, params.recipient) }
    })
  }

  async ackMany(params: AckManyParams): Promise<AckManyOutcome> {
    const { items, now } = params
    const keys = new Set(items.map((i) => `${i.recipient}\u0000${i.messageId}`))
    if (keys.size === items.length && items.length > 0) {
      // All or nothing in one statement outside a transaction: the usual batch, every ack applying.
      const acked = await this.#read(async (db) => {
        const byReceipt = items.every((i) => i.receipt !== null)
        const [row] = await db.query<{ n: number }>(
          byReceipt ? this.#sql.ackAllByReceipt : this.#sql.ackAll,
          // Array literals built in one pass rather than arrays node-postgres serializes element by
          // element (see array-literal.ts): three arrays of a batch's size on every `ackBatch`.
          [
            textArrayLiteral(items.map((i) => i.messageId)),
            textArrayLiteral(items.map((i) => i.recipient)),
            textArrayLiteral(items.map((i) => i.receipt)),
            now,
            items.length,
          ],
        )
        return row!.n
      })
      if (acked === items.length) return { ok: true, alreadyAcked: new Array(items.length).fill(false) }
    }
    return this.#transaction(async (tx) => {
      const alreadyAcked: boolean[] = new Array(items.length).fill(false)
      // One statement acks every item it can; only the rest are read, in order, to tell an ack already
      // done (fine) from the first refused one (rolls the whole batch back, as one ack at a time would).
      // The same delivery named twice: item by item, so the later one is the one reported already acked.
      const rest: number[] = []
      if (keys.size === items.length) {
        const rows = await tx.query<{ n: number }>(this.#sql.ackMany, [
          items.map((i) => i.messageId),
          items.map((i) => i.recipient),
          items.map((i) => i.receipt),
          now,
        ])
        if (rows.length < items.length) {
          const applied = new Set(rows.map((r) => r.n - 1))
          for (let index = 0; index < items.length; index++) if (!applied.has(index)) rest.push(index)
        }
      } else {
        rest.push(...items.keys())
      }
      for (const index of rest) {
        const item = items[index]!
        if (keys.size !== items.length) {
          const rows = await tx.query(this.#sql.ack, [item.messageId, item.recipient, item.receipt, now])
          if (rows.length > 0) continue
        }
        const state = await this.#state(tx, item.messageId, item.recipient)
        if (state?.status !== 'acked')
          throw new Rollback<AckManyOutcome>({ ok: false, refusedAt: index, state })
        alreadyAcked[index] = true
      }
      return { ok: true, alreadyAcked }
    })
  }

  async withdraw(params: WithdrawParams): Promise<ChangeOutcome> {
    return this.#read(async (db) => {
      const rows = await db.query(this.#sql.withdraw, [
        params.messageId,
        params.recipient,
        params.reason,
        params.now,
      ])
      if (rows.length > 0) return { changed: true }
      return { changed: false, state: await this.#state(db, params.messageId, params.recipient) }
    })
  }

  async release(params: StoreReleaseParams): Promise<ReleaseOutcome> {
    return this.#transaction(async (tx) => {
      // Locked until the transaction ends: the attempt the backoff is computed from is the one changed.
      const [current] = await tx.query<{ attempt: number }>(this.#sql.lockDelivery, [
        params.messageId,
        params.recipient,
      ])
      if (current === undefined) return { changed: false, state: null }
      const availableAt = callerCode(() => params.availableAt(current.attempt))
      const [row] = await tx.query<{
        status: 'queued' | 'failed'
        attempt: number
        maxAttempts: number
        availableAt: number
      }>(this.#sql.release, [
        ...this.#fence(params),
        params.deadLetter,
        availableAt,
        params.reason,
        params.handBack,
      ])
      if (row === undefined)
        return { changed: false, state: await this.#state(tx, params.messageId, params.recipient) }
      if (row.status === 'queued') await this.#notify(tx)
      return { changed: true, ...row }
    })
  }

  async extendLease(params: ExtendLeaseParams): Promise<ExtendLeaseOutcome> {
    return this.#transaction(async (tx) => {
      const [row] = await tx.query<{ leaseUntil: number }>(this.#sql.extendLease, [
        ...this.#fence(params),
        params.leaseUntil,
      ])
      if (row !== undefined) return { changed: true, leaseUntil: row.leaseUntil }
      return { changed: false, state: await this.#state(tx, params.messageId, params.recipient) }
    })
  }

  async sweepExhaustedLeases(params: { now: number }): Promise<number> {
    try {
      return await this.#transaction(async (tx) => {
        const [row] = await tx.query<{ n: number }>(this.#sql.failExhaustedLeases, [params.now, null])
        return row!.n
      })
    } catch (error) {
      // A role that may only read (or a standby) leaves the sweep to a writer, as a read-only SQLite spool
      // does: its reads still work, and show a lease that ran out on its last attempt as leased.
      const reason = error instanceof StorageError ? error.details?.reason : undefined
      if (reason === 'permission-denied' || reason === 'read-only') return 0
      throw error
    }
  }

  async requeueFailed(params: RequeueFailedParams): Promise<RequeueFailedOutcome> {
    return this.#transaction(async (tx) => {
      const [row] = await tx.query<{ n: number }>(this.#sql.requeueFailed, [
        params.messageId,
        params.recipient ?? null,
        params.now,
      ])
      const requeued = row!.n
      if (requeued > 0) {
        await this.#notify(tx)
        return { requeued, messageExists: true, state: null, withdrawn: 0 }
      }
      const [exists] = await tx.query<{ exists: boolean }>(this.#sql.messageExists, [params.messageId])
      const state =
        params.recipient === undefined ? null : await this.#state(tx, params.messageId, params.recipient)
      const [withdrawn] = await tx.query<{ n: number }>(this.#sql.countWithdrawn, [
        params.messageId,
        params.recipient ?? null,
      ])
      return { requeued: 0, messageExists: exists!.exists, state, withdrawn: withdrawn!.n }
    })
  }

  async claimReply<T>(params: ClaimReplyParams<T>): Promise<ClaimOutcome<T>> {
    const { recipient, replyTo, from, now, leaseUntil, receipt } = params
    return this.#transaction(async (tx) => {
      const outcome: ClaimOutcome<T> = { claimed: [], deadLettered: [] }
      // An unreadable reply is dead-lettered and the next one taken, as a claim does.
      while (outcome.claimed.length === 0) {
        const [row] = await tx.query<ClaimedRow>(this.#replySql.claimReply, [
          recipient,
          replyTo,
          now,
          leaseUntil,
          receipt,
          from ?? null,
        ])
        if (row === undefined) break
        await this.#settleClaimedRow(tx, row, params.decode, now, outcome)
      }
      return outcome
    })
  }

  async claimMessage<T>(params: ClaimMessageParams<T>): Promise<ClaimOutcome<T>> {
    const { recipient, messageId, now, leaseUntil, receipt } = params
    return this.#transaction(async (tx) => {
      const outcome: ClaimOutcome<T> = { claimed: [], deadLettered: [] }
      const [row] = await tx.query<ClaimedRow>(this.#replySql.claimMessage, [
        recipient,
        messageId,
        now,
        leaseUntil,
        receipt,
      ])
      if (row !== undefined) await this.#settleClaimedRow(tx, row, params.decode, now, outcome)
      return outcome
    })
  }

  /**
   * One row leased by a reply or message claim, into `outcome`: decoded and kept, or — when `decode`
   * refuses it — dead-lettered by a statement of its own in the same transaction.
   */
  async #settleClaimedRow<T>(
    tx: SqlQueryable,
    row: ClaimedRow,
    decode: ClaimParams<T>['decode'],
    now: number,
    outcome: ClaimOutcome<T>,
  ): Promise<void> {
    const decoded = callerCode(() => decode(row))
    if ('unreadable' in decoded) {
      await tx.query(this.#sql.deadLetterClaimed, [row.deliveryId, now, decoded.unreadable])
      outcome.deadLettered.push({ messageId: row.id, reason: decoded.unreadable })
      return
    }
    outcome.claimed.push({
      value: decoded.value,
      deliveryId: row.deliveryId,
      attempt: row.attempt,
      maxAttempts: row.maxAttempts,
      receipt: row.receipt,
    })
  }

  async hasReply(params: ReplyQuery & { now: number }): Promise<boolean> {
    return this.#read(async (db) => {
      const [row] = await db.query<{ found: boolean }>(this.#replySql.hasReply, [
        params.recipient,
        params.replyTo,
        params.now,
        params.from ?? null,
      ])
      return row!.found
    })
  }

  async hasClaimable(params: { recipient: string; now: number }): Promise<boolean> {
    return this.#read(async (db) => {
      const [row] = await db.query<{ claimable: boolean }>(this.#sql.hasClaimable, [
        params.recipient,
        params.now,
      ])
      return row!.claimable
    })
  }

  async nextAvailableAt(params: { recipient: string; now: number }): Promise<number | null> {
    return this.#read(async (db) => {
      const [row] = await db.query<{ at: number | null }>(this.#sql.nextAvailableAt, [
        params.recipient,
        params.now,
      ])
      return row!.at
    })
  }

  /**
   * Calls `onChange` on each notification of this schema's channel, and after the listening connection
   * was lost and LISTENs again (notifications sent meanwhile were lost, so the caller re-checks). One
   * listening connection per store, opened by the first watcher and closed with the last.
   */
  watch(onChange: () => void): () => void {
    return this.#feed.add(onChange)
  }

  async status(params: { messageId: string; now: number }): Promise<MessageStatus | undefined> {
    return this.#read((db) => this.#inspect.status(db, params.messageId, params.now))
  }

  async conversation(params: { conversationId: string; visibleTo?: string }): Promise<MessageV2[]> {
    return this.#read((db) => this.#inspect.conversation(db, params.conversationId, params.visibleTo))
  }

  async conversations(params: {
    limit: number
    agent?: string
    visibleTo?: string
  }): Promise<ConversationSummary[]> {
    // Bounded as the SQLite store bounds it.
    // The spool bounded the limit (1..MAX_LIST_LIMIT) before the store was called.
    return this.#read((db) => this.#inspect.conversations(db, params))
  }

  async search(params: StoreSearchParams): Promise<MessageV2[]> {
    // Index what was sent since the last pass first, so the search reads the GIN index rather than
    // computing documents (see `searchPending` in schema.ts); the search itself finds every message
    // either way, so a role that may only read searches all the same.
    if (params.text !== undefined) await this.#indexPending()
    return this.#read((db) => this.#inspect.search(db, params))
  }

  async stats(params: { now: number }): Promise<SpoolStats> {
    // One snapshot for all the figures (a read-only REPEATABLE READ transaction never fails to serialize).
    return this.#transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
      return this.#inspect.stats(tx, params.now)
    })
  }

  async pending(params: {
    recipient: string
    limit: number
    now: number
    newestFirst?: boolean
  }): Promise<PendingDelivery[]> {
    return this.#read((db) =>
      this.#inspect.pending(db, params.recipient, params.limit, params.now, params.newestFirst === true),
    )
  }

  async listFailed(params: { agent?: string; limit: number; now: number }): Promise<FailedDelivery[]> {
    return this.#read((db) => this.#inspect.listFailed(db, params.agent, params.limit, params.now))
  }

  async verify(): Promise<VerifyReport> {
    return this.#transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
      return this.#inspect.verify(tx, this.schema)
    }, UNBOUNDED)
  }

  async exportRows({ sections, sink, batchRows = COPY_BATCH_ROWS }: ExportRowsParams): Promise<void> {
    await this.#transaction(async (tx) => {
      // One snapshot of every table, however long the reads take and whatever other processes write.
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
      // What the sink throws (the destination's failure) is its own: it passes through unchanged.
      await exportPostgresRows(tx, this.schema, sections, this.location, sink, batchRows, async (call) => {
        try {
          await call()
        } catch (error) {
          throw new CallerError(error)
        }
      })
    }, UNBOUNDED)
  }

  async importRows({ source, sections }: ImportRowsParams): Promise<void> {
    await this.#transaction(
      (tx) =>
        // A write's failure is told as this database's before it reaches the source's side.
        importPostgresRows(tx, this.schema, source, sections, this.location, async (write) => {
          try {
            await write()
          } catch (error) {
            throw toStorageError(error, this.location)
          }
        }),
      UNBOUNDED,
    )
  }

  async cleanup(params: Parameters<SpoolStore['cleanup']>[0]): Promise<CleanupReport> {
    const report = await this.#transaction(async (tx) => {
      const report = await this.#inspect.cleanup(tx, params)
      // Keys past their window answer nothing any more: a send with one takes it over anyway.
      if (!params.dryRun) await tx.query(this.#keySql.deleteExpired, [params.now])
      return report
    })
    // Routine maintenance also brings the full-text index up to date, so a spool nobody searches does not
    // pile up messages for its first search to index.
    if (!params.dryRun) await this.#indexPending()
    return report
  }

  /** Indexes the messages sent since the last pass; with no right to write, leaves it to a writer. */
  async #indexPending(): Promise<void> {
    try {
      await this.#read((db) => this.#inspect.indexPending(db))
    } catch (error) {
      const reason = error instanceof StorageError ? error.details?.reason : undefined
      if (reason === 'permission-denied' || reason === 'read-only') return
      throw error
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.clock instanceof ServerClock) this.clock.stop()
    try {
      await this.#feed.close()
    } finally {
      // A call started before close (a waiter's first check, say) gets its answer rather than a pool that
      // ended under it: node-postgres leaves a connect pending on an ended pool until its timeout.
      await Promise.allSettled([...this.#inFlight])
      if (this.#ownsClient) await this.#client.end().catch(() => undefined)
    }
  }

  /** The parameters of the receipt fence: message, recipient, receipt (or null), now. */
  #fence(params: DeliveryParams): unknown[] {
    return [params.messageId, params.recipient, params.receipt, params.now]
  }

  async #state(tx: SqlQueryable, messageId: string, recipient: string): Promise<DeliveryState | null> {
    const [row] = await tx.query<Row<DeliveryState>>(this.#sql.deliveryState, [messageId, recipient])
    return row ?? null
  }

  /**
   * The wake-up, in the transaction of the write: delivered to listeners only if it commits, and
   * PostgreSQL folds identical notifications of one transaction into one. Sent for every write that
   * queues a delivery, delayed ones included, so other processes re-arm their timers.
   */
  async #notify(tx: SqlQueryable): Promise<void> {
    await tx.query(this.#sql.notify, [this.#channel, ''])
  }

  /** Runs one call of the store, known to `close()` until it settles. */
  #track<T>(start: () => Promise<T>): Promise<T> {
    // After close the pool is gone: fail now rather than wait for a connect that cannot happen.
    if (this.#closed) return Promise.reject(new ClosedError('This PostgreSQL spool store'))
    const call = start()
    this.#inFlight.add(call)
    const forget = () => this.#inFlight.delete(call)
    call.then(forget, forget)
    return call
  }

  /** `unbounded`: a whole-database read or write (verify, copy) is not cut off by the client's query_timeout. */
  #transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options?: { unbounded: true }): Promise<T> {
    return this.#track(() => this.#runTransaction(fn, options))
  }

  #read<T>(fn: (db: SqlQueryable) => Promise<T>): Promise<T> {
    return this.#track(() => this.#runRead(fn))
  }

  async #runTransaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options?: { unbounded: true }): Promise<T> {
    try {
      return await this.#client.transaction(fn, options)
    } catch (error) {
      if (error instanceof Rollback) return error.outcome as T
      if (error instanceof CallerError) throw error.error
      throw toStorageError(error, this.location)
    }
  }

  async #runRead<T>(fn: (db: SqlQueryable) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#client)
    } catch (error) {
      if (error instanceof CallerError) throw error.error
      throw toStorageError(error, this.location)
    }
  }
}
