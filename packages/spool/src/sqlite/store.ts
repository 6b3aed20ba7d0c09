import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type MessageV2, priorityRank } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import type * as Copy from '../copy.js'
import { messageColumnValues } from '../rows.js'
import type * as Seam from '../store.js'
import type * as Reports from '../types.js'
import { watchDatabaseFile } from './change-feed.js'
import { cleanup } from './cleanup.js'
import {
  type DatabaseFileOptions,
  DISK_FULL,
  openConnection,
  prepareDatabaseFile,
  toStorageError,
} from './database.js'
import { catchUpFullTextIndex } from './full-text.js'
import { releaseHeldMessages } from './held.js'
import { type AsideHint, keepKeyAside, prepareKeyStatements, storeKeyedMessage } from './idempotency.js'
import { applyMigrations } from './migrate.js'
import type { QueryBuilder } from './query-builder.js'
import { prepareReplyStatements, type ReplyStatements, replyBindings } from './replies.js'
import {
  type ClaimedRow,
  type HotStatements,
  prepareHotStatements,
  prepareRecipientClaims,
  type RecipientClaims,
} from './statements.js'
import { WalFlushAhead } from './wal-flush-ahead.js'

/**
 * `db copy`'s side of the store (./copy.ts, with its row schemas, about 47 zod schemas built when it
 * loads), loaded on the first export or import: a process that only sends or polls never builds them.
 */
const loadCopy = (): Promise<typeof import('./copy.js')> => import('./copy.js')

/** Folder of this package's drizzle-kit migrations (shipped beside `dist/`). */
export const SPOOL_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle')

/** How to open the SQLite store: the file and how it may be opened. */
export interface SqliteStoreOptions extends DatabaseFileOptions {
  /** SQLite file (created with its folder if missing), or `:memory:` for a private in-process store. */
  path: string
  /** How long a write waits for another process's lock, in ms (10 000). */
  busyTimeoutMs?: number
}

/** How many recipients' claim statements a store keeps prepared. */
const RECIPIENT_CLAIMS_CACHED = 256

/**
 * How far ahead a look for run-out leases also looks: finding no lease of a recipient that runs out within
 * it, claims skip the look until then (or until another connection commits, or this one leases earlier).
 */
const LEASE_LOOKAHEAD_MS = 1000

/** Thrown inside a write transaction to roll it back, then turned into the outcome it carries. */
class Rollback<T> {
  readonly outcome: T
  constructor(outcome: T) {
    this.outcome = outcome
  }
}

type DeliveryStateRow = Seam.DeliveryState & { leaseUntil: number | null }

/** A hot-path write waiting for its group's commit (see `SqliteSpoolStore.#together`). */
interface GroupedWrite {
  inGroup: () => unknown
  alone: () => unknown
  resolve: (outcome: unknown) => void
  reject: (error: unknown) => void
}

/**
 * The SQLite store of the spool: one file that many processes may share (WAL), hand-written statements on
 * the hot path (send, claim, ack), drizzle elsewhere, lazy FTS5 full-text search, and a change feed from the
 * file's WAL events confirmed with `PRAGMA data_version`. Writes are short synchronous better-sqlite3
 * transactions (BEGIN IMMEDIATE), so the async methods resolve once the work is committed.
 */
export class SqliteSpoolStore implements Seam.SpoolStore {
  readonly kind = 'sqlite'
  /** The file's absolute path, or `:memory:`. */
  readonly location: string
  readonly #sqlite: BetterSqlite3.Database
  /** drizzle and the report queries, loaded on first use (see `openQueryBuilder`). */
  #queries: Promise<QueryBuilder> | undefined
  readonly #stmt: HotStatements
  /** Who sent the message with an id, asked only when an insert finds the id taken. */
  readonly #messageSender: BetterSqlite3.Statement<[string], string>
  // Transaction wrappers are built once: better-sqlite3 compiles BEGIN/COMMIT for each wrapper it creates.
  readonly #insertMany: BetterSqlite3.Transaction<
    (sends: readonly Seam.StoredSend[], now: number) => Seam.InsertMessagesOutcome
  >
  readonly #hold: BetterSqlite3.Transaction<(params: Seam.HoldMessageParams) => { foreignId: boolean }>
  readonly #releaseHeld: BetterSqlite3.Transaction<(params: Seam.ReleaseHeldParams) => number>
  readonly #claim: BetterSqlite3.Transaction<
    (params: Seam.ClaimParams<unknown>) => Seam.ClaimOutcome<unknown>
  >
  readonly #replies: ReplyStatements
  readonly #claimReply: BetterSqlite3.Transaction<
    (params: Seam.ClaimReplyParams<unknown>) => Seam.ClaimOutcome<unknown>
  >
  readonly #claimMessage: BetterSqlite3.Transaction<
    (params: Seam.ClaimMessageParams<unknown>) => Seam.ClaimOutcome<unknown>
  >
  readonly #ackMany: BetterSqlite3.Transaction<(params: Seam.AckManyParams) => Seam.AckManyOutcome>
  readonly #ackAndClaim: BetterSqlite3.Transaction<
    (params: Seam.AckAndClaimParams<unknown>) => Seam.AckAndClaimOutcome<unknown>
  >
  readonly #release: BetterSqlite3.Transaction<(params: Seam.ReleaseParams) => Seam.ReleaseOutcome>
  /** Runs a write group's writes in one transaction; each write's outcome, in order. */
  readonly #writeGroup: BetterSqlite3.Transaction<(writes: readonly GroupedWrite[]) => unknown[]>
  /** Hot-path writes issued in the current run of promise callbacks, waiting for their shared commit. */
  #queuedWrites: GroupedWrite[] | undefined
  /** Syncs the WAL file ahead of its checkpoints, off the event loop (none in memory or read-only). */
  readonly #flushAhead: WalFlushAhead | undefined
  readonly #recipientClaims = new Map<string, RecipientClaims>()
  /** The recipient of the latest claim: the last entry of `#recipientClaims` (see `#claimsFor`). */
  #lastClaimer: string | undefined
  #lastSweep = Number.NEGATIVE_INFINITY
  /**
   * Per recipient, a time no lease of it runs out at or before (every leased `available_at` is later), as
   * known at `PRAGMA data_version` `#leaseFloorsVersion`: a claim skips the look for run-out leases while
   * `now` is at or before it. Another connection's commit (in this process or another) moves the version and
   * forgets them all; this connection's own leases lower the floor of their recipient.
   */
  readonly #leaseFloors = new Map<string, number>()
  #leaseFloorsVersion = -1
  #closed = false

  private constructor(sqlite: BetterSqlite3.Database, location: string) {
    this.#sqlite = sqlite
    this.location = location
    this.#stmt = prepareHotStatements(sqlite)
    this.#flushAhead = location === ':memory:' || sqlite.readonly ? undefined : new WalFlushAhead(location)
    this.#messageSender = sqlite
      .prepare<[string], string>('SELECT from_agent FROM messages WHERE id = ?')
      .pluck()
    const keys = prepareKeyStatements(sqlite)
    const asideHint: AsideHint = { fullInsertsLeft: 0 }
    this.#insertMany = sqlite.transaction((sends: readonly Seam.StoredSend[], now: number) => {
      const results: Seam.InsertResult[] = []
      for (let i = 0; i < sends.length; i++) {
        const send = sends[i]!
        if (send.idempotency !== undefined) {
          const keyed = storeKeyedMessage(keys, send, now, asideHint)
          if (keyed === 'id-taken') {
            // Refused if the id is another sender's, else a duplicate of the sender's own that the key names.
            if (this.#foreignId(send))
              throw new Rollback<Seam.InsertMessagesOutcome>({ ok: false, foreignIdAt: i })
            keepKeyAside(keys, send, now)
            results.push(DUPLICATE)
          } else if ('originalId' in keyed) {
            results.push({ duplicate: true, deliveries: 0, originalId: keyed.originalId })
          } else {
            const priority = priorityRank(send.message.priority)
            results.push({
              duplicate: false,
              deliveries: this.#insertDeliveries(send, keyed.seq, priority, now),
            })
          }
          continue
        }
        const result = this.#insertRows(send, now)
        if (result === undefined)
          throw new Rollback<Seam.InsertMessagesOutcome>({ ok: false, foreignIdAt: i })
        results.push(result)
      }
      return { ok: true, results }
    })
    const setHold = sqlite.prepare('UPDATE messages SET held_until = ?, held_max_attempts = ? WHERE id = ?')
    this.#hold = sqlite.transaction(({ send, heldUntil, now }: Seam.HoldMessageParams) => {
      // Stored if new (with no deliveries), or already stored by the send that reached the current
      // holders; either way the hold is set on the sender's own message only.
      if (this.#insertRows(send, now) === undefined) return { foreignId: true }
      setHold.run(heldUntil, send.maxAttempts, send.message.id)
      return { foreignId: false }
    })
    this.#releaseHeld = sqlite.transaction((params: Seam.ReleaseHeldParams) =>
      releaseHeldMessages(sqlite, params),
    )
    this.#claim = sqlite.transaction((params: Seam.ClaimParams<unknown>) => this.#claimRounds(params))
    this.#replies = prepareReplyStatements(sqlite)
    this.#claimReply = sqlite.transaction((params: Seam.ClaimReplyParams<unknown>) => {
      const { recipient, now, leaseUntil, receipt } = params
      this.#sweep(now, false)
      const claimed: Seam.ClaimedRecord<unknown>[] = []
      const deadLettered: { messageId: string; reason: string }[] = []
      const bindings = { ...replyBindings(params), now, leaseUntil, receipt }
      // An unreadable reply is dead-lettered and the next one taken, as a claim does.
      while (claimed.length === 0) {
        const row = this.#replies.claimReply.get(bindings) as ClaimedRow | undefined
        if (row === undefined) break
        this.#leased(recipient, leaseUntil)
        this.#decodeRows([row], { ...params, limit: 1 }, claimed, deadLettered)
      }
      return { claimed, deadLettered }
    })
    this.#claimMessage = sqlite.transaction((params: Seam.ClaimMessageParams<unknown>) => {
      const { recipient, messageId, now, leaseUntil, receipt } = params
      this.#sweep(now, false)
      const claimed: Seam.ClaimedRecord<unknown>[] = []
      const deadLettered: { messageId: string; reason: string }[] = []
      const row = this.#replies.claimMessage.get({ recipient, messageId, now, leaseUntil, receipt }) as
        | ClaimedRow
        | undefined
      if (row !== undefined) {
        this.#leased(recipient, leaseUntil)
        this.#decodeRows([row], { ...params, limit: 1 }, claimed, deadLettered)
      }
      return { claimed, deadLettered }
    })
    this.#ackMany = sqlite.transaction(
      (params: Seam.AckManyParams): Seam.AckManyOutcome => this.#ackItems(params),
    )
    this.#ackAndClaim = sqlite.transaction(
      (params: Seam.AckAndClaimParams<unknown>): Seam.AckAndClaimOutcome<unknown> => {
        const { alreadyAcked } = this.#ackItems(params.acks)
        return { ok: true, alreadyAcked, ...this.#claimRounds(params.claim) }
      },
    )
    this.#writeGroup = sqlite.transaction((writes: readonly GroupedWrite[]) =>
      writes.map((write) => {
        try {
          return write.inGroup()
        } catch (error) {
          // A refusal rolled back that write's own savepoint only; it is that write's outcome. Anything
          // else rolls the whole group back, and each write is then tried alone.
          if (error instanceof Rollback) return error.outcome
          throw error
        }
      }),
    )
    this.#release = sqlite.transaction((params: Seam.ReleaseParams): Seam.ReleaseOutcome => {
      const { messageId, recipient } = params
      const current = this.#stmt.delivery.get(messageId, recipient) as DeliveryStateRow | undefined
      if (current === undefined) return { changed: false, state: null }
      const row = this.#stmt.nack.get({
        messageId,
        recipient,
        receipt: params.receipt,
        reason: params.reason,
        availableAt: params.availableAt(current.attempt),
        deadLetter: params.deadLetter ? 1 : 0,
        handBack: params.handBack ? 1 : 0,
        now: params.now,
      }) as
        | { status: 'queued' | 'failed'; attempt: number; maxAttempts: number; availableAt: number }
        | undefined
      if (row === undefined) return { changed: false, state: stateOf(current) }
      return { changed: true, ...row }
    })
  }

  /**
   * Opens (creating if needed) the SQLite file at `options.path` and migrates it to the current schema.
   * Throws `SchemaVersionError` for a database written by a newer version, `StorageError` for an unusable
   * file.
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteSpoolStore> {
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path)
    prepareDatabaseFile(path, options)
    const sqlite = openConnection(path, { busyTimeoutMs: options.busyTimeoutMs, readonly: options.readonly })
    try {
      applyMigrations(
        sqlite,
        { folder: SPOOL_MIGRATIONS_FOLDER, table: '__agent_comm_spool_migrations', name: 'spool' },
        { allowForeignTables: options.allowForeignTables },
      )
      return new SqliteSpoolStore(sqlite, path)
    } catch (error) {
      sqlite.close()
      throw toStorageError(error, path)
    }
  }

  /**
   * The store's better-sqlite3 connection, for packages that keep their own tables in the same SQLite file
   * (the registry, the relay's nonces), so one connection serves them all and their writes can share a
   * transaction with the spool's. A spool hands it only to a store's opener (`spool.openShared`). Do not
   * close it: close the spool.
   */
  get connection(): BetterSqlite3.Database {
    return this.#sqlite
  }

  get readonly(): boolean {
    return this.#sqlite.readonly
  }

  // The hot path (insert, claim, ack) catches inline rather than through #write: no closure per call.
  insertMessages({ sends, now }: Seam.InsertMessagesParams): Promise<Seam.InsertMessagesOutcome> {
    return this.#together(
      () => this.#insertMany(sends, now),
      () => this.#insertMany.immediate(sends, now),
    )
  }

  async holdMessage(params: Seam.HoldMessageParams): Promise<{ foreignId: boolean }> {
    return this.#write(() => this.#hold.immediate(params))
  }

  async releaseHeld(params: Seam.ReleaseHeldParams): Promise<number> {
    return this.#write(() => this.#releaseHeld.immediate(params))
  }

  claim<T>(params: Seam.ClaimParams<T>): Promise<Seam.ClaimOutcome<T>> {
    const p = params as Seam.ClaimParams<unknown>
    return this.#together(
      () => this.#claim(p),
      () => this.#claim.immediate(p),
    ) as Promise<Seam.ClaimOutcome<T>>
  }

  async claimReply<T>(params: Seam.ClaimReplyParams<T>): Promise<Seam.ClaimOutcome<T>> {
    try {
      return this.#claimReply.immediate(params as Seam.ClaimReplyParams<unknown>) as Seam.ClaimOutcome<T>
    } catch (error) {
      return this.#failed(error)
    }
  }

  async claimMessage<T>(params: Seam.ClaimMessageParams<T>): Promise<Seam.ClaimOutcome<T>> {
    try {
      return this.#claimMessage.immediate(params as Seam.ClaimMessageParams<unknown>) as Seam.ClaimOutcome<T>
    } catch (error) {
      return this.#failed(error)
    }
  }

  async hasReply(params: Seam.ReplyQuery & { now: number }): Promise<boolean> {
    try {
      return this.#replies.hasReply.get({ ...replyBindings(params), now: params.now }) === 1
    } catch (error) {
      return this.#failed(error)
    }
  }

  ack({ messageId, recipient, receipt, now }: Seam.DeliveryParams): Promise<Seam.ChangeOutcome> {
    const ack = (): Seam.ChangeOutcome => {
      if (this.#stmt.ack.run({ messageId, recipient, receipt, now }).changes === 1) return CHANGED
      return { changed: false, state: this.#state(messageId, recipient) }
    }
    return this.#together(ack, ack)
  }

  async ackMany(params: Seam.AckManyParams): Promise<Seam.AckManyOutcome> {
    try {
      return this.#ackMany.immediate(params)
    } catch (error) {
      return this.#failed(error)
    }
  }

  async ackAndClaim<T>(params: Seam.AckAndClaimParams<T>): Promise<Seam.AckAndClaimOutcome<T>> {
    try {
      return this.#ackAndClaim.immediate(
        params as Seam.AckAndClaimParams<unknown>,
      ) as Seam.AckAndClaimOutcome<T>
    } catch (error) {
      return this.#failed(error)
    }
  }

  async release(params: Seam.ReleaseParams): Promise<Seam.ReleaseOutcome> {
    return this.#write(() => this.#release.immediate(params))
  }

  async withdraw({ messageId, recipient, reason, now }: Seam.WithdrawParams): Promise<Seam.ChangeOutcome> {
    return this.#write(() => {
      if (this.#stmt.withdraw.run({ messageId, recipient, reason, now }).changes === 1) return CHANGED
      return { changed: false, state: this.#state(messageId, recipient) }
    })
  }

  async extendLease(params: Seam.ExtendLeaseParams): Promise<Seam.ExtendLeaseOutcome> {
    const { messageId, recipient, receipt, leaseUntil, now } = params
    return this.#write(() => {
      const row = this.#stmt.extendLease.get({ messageId, recipient, receipt, leaseUntil, now }) as
        | { leaseUntil: number }
        | undefined
      if (row === undefined) return { changed: false, state: this.#state(messageId, recipient) }
      // A shorter lease than the one it replaces runs out earlier: claims must look for it then.
      this.#leased(recipient, row.leaseUntil)
      return { changed: true, leaseUntil: row.leaseUntil }
    })
  }

  async sweepExhaustedLeases({ now }: { now: number }): Promise<number> {
    return this.#write(() => this.#sweep(now, true))
  }

  async requeueFailed(params: Seam.RequeueFailedParams): Promise<Seam.RequeueFailedOutcome> {
    const { db, inspect } = await this.#builder()
    return this.#write(() =>
      this.#sqlite
        .transaction((): Seam.RequeueFailedOutcome => {
          const requeued = inspect.retryFailed(db, params.messageId, params.recipient, params.now)
          if (requeued > 0) return { requeued, messageExists: true, state: null, withdrawn: 0 }
          return {
            requeued,
            withdrawn: inspect.countWithdrawn(db, params.messageId, params.recipient),
            messageExists: this.#stmt.messageExists.get(params.messageId) !== undefined,
            state: params.recipient === undefined ? null : this.#state(params.messageId, params.recipient),
          }
        })
        .immediate(),
    )
  }

  async hasClaimable({ recipient, now }: { recipient: string; now: number }): Promise<boolean> {
    return this.#write(() => this.#stmt.hasClaimable.get({ recipient, now }) === 1)
  }

  async nextAvailableAt({ recipient, now }: { recipient: string; now: number }): Promise<number | null> {
    return this.#write(() => (this.#stmt.nextAvailableAt.get({ recipient, now }) as number | null) ?? null)
  }

  /**
   * Hints after another process committed to the file (see `watchDatabaseFile`); nothing for `:memory:`,
   * which no other connection can write.
   */
  watch(onChange: () => void): () => void {
    if (this.location === ':memory:' || this.#closed) return () => {}
    const dataVersion = this.#stmt.dataVersion
    return watchDatabaseFile(this.location, () => dataVersion.get() as number, onChange)
  }

  async status({
    messageId,
    now,
  }: {
    messageId: string
    now: number
  }): Promise<Reports.MessageStatus | undefined> {
    const { db, inspect } = await this.#builder()
    return this.#write(() => inspect.status(db, messageId, now))
  }

  async conversation(params: Seam.ConversationParams): Promise<MessageV2[]> {
    const { db, inspect } = await this.#builder()
    return this.#write(() => inspect.conversation(db, params))
  }

  async conversations(params: Seam.ConversationsParams): Promise<Reports.ConversationSummary[]> {
    const { inspect } = await this.#builder()
    return this.#write(() => inspect.conversations(this.#sqlite, params))
  }

  async search(params: Seam.StoreSearchParams): Promise<MessageV2[]> {
    const { db, inspect } = await this.#builder()
    return this.#write(() => {
      if (params.text !== undefined) catchUpFullTextIndex(this.#sqlite)
      return inspect.search(db, params, this.#sqlite.readonly)
    })
  }

  async stats({ now }: { now: number }): Promise<Reports.SpoolStats> {
    const { inspect } = await this.#builder()
    return this.#write(() => inspect.stats(this.#sqlite, now))
  }

  async pending(params: {
    recipient: string
    limit: number
    now: number
    newestFirst?: boolean
  }): Promise<Reports.PendingDelivery[]> {
    const { db, inspect } = await this.#builder()
    return this.#write(() =>
      inspect.listPending(db, params.recipient, params.limit, params.now, params.newestFirst === true),
    )
  }

  async listFailed(params: {
    agent?: string
    limit: number
    now: number
  }): Promise<Reports.FailedDelivery[]> {
    const { db, inspect } = await this.#builder()
    return this.#write(() => inspect.listFailed(db, params, params.now))
  }

  async verify(): Promise<Reports.VerifyReport> {
    const { inspect } = await this.#builder()
    return this.#write(() => {
      // The index is caught up first (a write): on a full disk that write fails, and the integrity check the
      // operator wants most then is still run, without the full-text index's check (an INSERT as well).
      let skipFullText: string | undefined
      try {
        catchUpFullTextIndex(this.#sqlite)
      } catch (error) {
        const mapped = toStorageError(error, this.location)
        if (mapped.details.reason !== DISK_FULL) throw error
        skipFullText = 'the disk is full'
      }
      return inspect.verify(this.#sqlite, skipFullText)
    })
  }

  async cleanup(params: Parameters<Seam.SpoolStore['cleanup']>[0]): Promise<Reports.CleanupReport> {
    const { now, ...options } = params
    return this.#write(() => cleanup(this.#sqlite, options, now))
  }

  async exportRows({ sections, sink, batchRows }: Copy.ExportRowsParams): Promise<void> {
    try {
      const [{ exportSqliteRows, migratePresentSections }, { COPY_BATCH_ROWS }] = await Promise.all([
        loadCopy(),
        import('../copy.js'),
      ])
      // A database of an older version gets the sections' current columns first (never their tables).
      if (!this.#sqlite.readonly) migratePresentSections(this.#sqlite, sections)
      await exportSqliteRows(this.#sqlite, sections, this.location, sink, batchRows ?? COPY_BATCH_ROWS)
    } catch (error) {
      this.#failed(error)
    }
  }

  async importRows({ source, sections }: Copy.ImportRowsParams): Promise<void> {
    const { importSqliteRows } = await loadCopy()
    await importSqliteRows(this.#sqlite, source, sections, this.location, (error) =>
      toStorageError(error, this.location),
    )
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Writes issued just before closing are committed first, as they would have been alone.
    if (this.#queuedWrites !== undefined) this.#commitGroup(this.#queuedWrites)
    this.#sqlite.close()
    this.#flushAhead?.close()
  }

  /**
   * Group commit of the hot path (insert, claim, ack): writes issued in the same run of promise callbacks
   * — the requests a relay lets through together once their nonces are durable — share one transaction,
   * each in a savepoint of its own, instead of paying a commit each. Each resolves once that commit is
   * done, with the outcome it would have had alone (the writes run in the order they were issued); if the
   * group's transaction fails, each is tried again in a transaction of its own, so no write fails for
   * another's sake. `inGroup` is the write inside the group's transaction, `alone` in one of its own.
   *
   * The group commits once that run of promise callbacks has drained — a `process.nextTick` queued from a
   * microtask runs only after the microtask queue is empty — not at the microtask after the first write:
   * writes reached through chains of different lengths (a relay's claims and acks go straight to the store,
   * its sends through the spool's own send group first) still share the commit, before any I/O is handled.
   */
  #together<T>(inGroup: () => T, alone: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let group = this.#queuedWrites
      if (group === undefined) {
        const fresh: GroupedWrite[] = []
        this.#queuedWrites = group = fresh
        queueMicrotask(() => process.nextTick(() => this.#commitGroup(fresh)))
      }
      group.push({ inGroup, alone, resolve: resolve as (outcome: unknown) => void, reject })
    })
  }

  #commitGroup(group: GroupedWrite[]): void {
    if (this.#queuedWrites !== group) return
    this.#queuedWrites = undefined
    this.#flushAhead?.committed()
    if (group.length > 1) {
      let outcomes: unknown[] | undefined
      try {
        outcomes = this.#writeGroup.immediate(group)
      } catch {
        // Retried one by one below, where each write gets its own outcome or error.
      }
      if (outcomes !== undefined) {
        for (let i = 0; i < group.length; i++) group[i]!.resolve(outcomes[i])
        return
      }
    }
    for (const write of group) {
      try {
        write.resolve(this.#write(write.alone))
      } catch (error) {
        write.reject(error)
      }
    }
  }

  /** drizzle and the report queries, imported on the first report (see `openQueryBuilder`). */
  #builder(): Promise<QueryBuilder> {
    this.#queries ??= import('./query-builder.js').then(({ openQueryBuilder }) =>
      openQueryBuilder(this.#sqlite),
    )
    return this.#queries
  }

  #write<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      return this.#failed(error)
    }
  }

  /** The outcome a rolled-back transaction carries, or the `StorageError` of a failure. */
  #failed<T>(error: unknown): T {
    if (error instanceof Rollback) return error.outcome as T
    throw toStorageError(error, this.location)
  }

  #state(messageId: string, recipient: string): Seam.DeliveryState | null {
    const row = this.#stmt.delivery.get(messageId, recipient) as DeliveryStateRow | undefined
    return row === undefined ? null : stateOf(row)
  }

  /**
   * Moves leases that ran out on their last attempt to `failed`, so nothing stays leased forever. Claims do
   * it at most once a second (the claim query already skips such leases); reads that report state force it.
   */
  #sweep(now: number, force: boolean): number {
    // A read-only store leaves the sweep to a writer: a lease that ran out on its last attempt shows as leased.
    if (this.#sqlite.readonly || (!force && now - this.#lastSweep < 1000 && now >= this.#lastSweep)) return 0
    this.#lastSweep = now
    return this.#stmt.failExhaustedLeases.run({ now }).changes
  }

  /**
   * The acks of `ackMany`, inside a transaction: the first refused one (changed nothing, delivery not
   * `acked`) rolls the whole transaction back through `Rollback`.
   */
  #ackItems({ items, now }: Seam.AckManyParams): { ok: true; alreadyAcked: boolean[] } {
    const alreadyAcked: boolean[] = []
    for (let i = 0; i < items.length; i++) {
      const { messageId, recipient, receipt } = items[i]!
      if (this.#stmt.ack.run({ messageId, recipient, receipt, now }).changes === 1) {
        alreadyAcked.push(false)
        continue
      }
      const state = this.#state(messageId, recipient)
      if (state?.status !== 'acked') {
        throw new Rollback<Seam.AckManyOutcome>({ ok: false, refusedAt: i, state })
      }
      alreadyAcked.push(true)
    }
    return { ok: true, alreadyAcked }
  }

  /** One claim, inside its transaction (see `Seam.SpoolStore.claim`). */
  #claimRounds(params: Seam.ClaimParams<unknown>): Seam.ClaimOutcome<unknown> {
    const { recipient, now, leaseUntil, receipt, limit } = params
    this.#sweep(now, false)
    // Whether a run-out lease waits, asked once, in the first round: a cheap answer while none can have.
    let expired: boolean | undefined = this.#leaseMayHaveRunOut(recipient, now)
    const claimed: Seam.ClaimedRecord<unknown>[] = []
    const deadLettered: { messageId: string; reason: string }[] = []
    // A message that cannot be read is dead-lettered, so the claim takes more in its place, in the same
    // transaction, until it is full or nothing claimable is left: good messages waiting behind an
    // unreadable one are returned now, not on a later claim. Each round dead-letters or returns every row
    // it takes, so the loop ends.
    while (claimed.length < limit) {
      const round = { recipient, now, leaseUntil, limit: limit - claimed.length, receipt }
      const rows = this.#claimRows(round, expired)
      expired = undefined
      if (rows.length === 0) break
      this.#leased(recipient, leaseUntil)
      const before = deadLettered.length
      this.#decodeRows(rows, params, claimed, deadLettered)
      if (deadLettered.length === before) break
    }
    return { claimed, deadLettered }
  }

  /**
   * Leases up to `params.limit` claimable deliveries of `params.recipient` and returns their rows.
   * `expired` says whether a run-out lease is waiting; when not known (undefined), a claim that comes back
   * short asks (see `#leaseMayHaveRunOut`).
   */
  #claimRows(
    params: { recipient: string; now: number; leaseUntil: number; limit: number; receipt: string },
    expired: boolean | undefined,
  ): ClaimedRow[] {
    const { limit } = params
    const own = this.#claimsFor(params.recipient)
    let rows: ClaimedRow[]
    if (expired) {
      rows = this.#stmt.claimWithExpired.all(params) as ClaimedRow[]
    } else {
      // The `= (subquery)` form first, whatever the limit: the IN form builds a temporary table and costs
      // twice as much even when it finds nothing, which a consumer claiming the default 10 with one message
      // waiting would pay on every claim. A plain look for more ids (a few µs) decides whether the IN form
      // runs for the rest.
      const first = own.claimOne.get(params) as ClaimedRow | undefined
      rows = first === undefined ? [] : [first]
      if (first !== undefined && limit > 1 && own.queuedIds(limit - 1).get(params) !== undefined) {
        rows = rows.concat(own.claim(limit - 1).all(params) as ClaimedRow[])
      }
    }
    if (
      expired === undefined &&
      rows.length < limit &&
      this.#leaseMayHaveRunOut(params.recipient, params.now)
    ) {
      rows = rows.concat(
        this.#stmt.claimWithExpired.all({ ...params, limit: limit - rows.length }) as ClaimedRow[],
      )
    }
    return rows
  }

  /**
   * Whether a lease of `recipient` may have run out by `now`, so that a claim must look for one: false
   * without a query while `now` is at or before the recipient's floor (see `#leaseFloors`); otherwise one
   * indexed probe `LEASE_LOOKAHEAD_MS` ahead, which finding nothing raises the floor to the end of the
   * look-ahead, and finding a lease that far is followed by the look itself. Inside the claim's
   * transaction, so the data version read is the one its writes build on.
   */
  #leaseMayHaveRunOut(recipient: string, now: number): boolean {
    const version = this.#stmt.dataVersion.get() as number
    if (version !== this.#leaseFloorsVersion) {
      this.#leaseFloors.clear()
      this.#leaseFloorsVersion = version
    }
    const floor = this.#leaseFloors.get(recipient)
    if (floor !== undefined && now <= floor) return false
    const horizon = now + LEASE_LOOKAHEAD_MS
    if (this.#stmt.hasExpiredLease.get({ recipient, now: horizon }) === 0) {
      if (this.#leaseFloors.size >= RECIPIENT_CLAIMS_CACHED) this.#leaseFloors.clear()
      this.#leaseFloors.set(recipient, horizon)
      return false
    }
    return this.#stmt.hasExpiredLease.get({ recipient, now }) === 1
  }

  /** A lease of `recipient` until `leaseUntil` was just taken on this connection: lowers its floor. */
  #leased(recipient: string, leaseUntil: number): void {
    const floor = this.#leaseFloors.get(recipient)
    if (floor !== undefined && leaseUntil <= floor) this.#leaseFloors.set(recipient, leaseUntil - 1)
  }

  /**
   * Decodes the messages of leased `rows` in claim order into `claimed`. A row `decode` refuses is
   * dead-lettered alone — handed out, it would fail its consumer on every claim — its reason kept as the
   * last error and added to `deadLettered`.
   */
  #decodeRows(
    rows: ClaimedRow[],
    params: Seam.ClaimParams<unknown>,
    claimed: Seam.ClaimedRecord<unknown>[],
    deadLettered: { messageId: string; reason: string }[],
  ): void {
    const { recipient, now, receipt, decode } = params
    const messageRows = (
      rows.length === 1
        ? this.#stmt.messageBySeq.all(rows[0]!.messageSeq)
        : this.#stmt.messagesBySeq.all(JSON.stringify(rows.map((r) => r.messageSeq)))
    ) as Seam.MessageRecord[]
    const bySeq = new Map<number, Seam.MessageRecord>()
    for (const row of messageRows) bySeq.set(row.seq, row)
    // RETURNING order is unspecified: restore the claim order (priority, then arrival).
    if (rows.length > 1) {
      rows.sort(
        (a, b) =>
          (bySeq.get(a.messageSeq)?.priority ?? 0) - (bySeq.get(b.messageSeq)?.priority ?? 0) || a.id - b.id,
      )
    }
    for (const row of rows) {
      const message = bySeq.get(row.messageSeq)
      if (message === undefined) continue
      const deliveryReceipt = `${receipt}.${decimal(row.id)}`
      const decoded = decode(message)
      if ('unreadable' in decoded) {
        this.#stmt.nack.get({
          messageId: message.id,
          recipient,
          receipt: deliveryReceipt,
          deadLetter: 1,
          handBack: 0,
          availableAt: now,
          reason: decoded.unreadable,
          now,
        })
        deadLettered.push({ messageId: message.id, reason: decoded.unreadable })
        continue
      }
      claimed.push({
        value: decoded.value,
        deliveryId: row.id,
        attempt: row.attempt,
        maxAttempts: row.maxAttempts,
        receipt: deliveryReceipt,
      })
    }
  }

  /** The recipient's own claim statements, prepared on first use (see `prepareRecipientClaims`). */
  #claimsFor(recipient: string): RecipientClaims {
    // The most recent recipient is already last in the Map: moving it again would only churn the Map's
    // table (a consumer claims for the same recipient over and over), and V8 rebuilds the table of a
    // long-lived Map in the old generation, where each rebuild stays as garbage until a full collection.
    if (recipient === this.#lastClaimer) return this.#recipientClaims.get(recipient)!
    let claims = this.#recipientClaims.get(recipient)
    if (claims === undefined) {
      if (this.#recipientClaims.size >= RECIPIENT_CLAIMS_CACHED) {
        // Forget the least recently used: a Map keeps insertion order, and a hit is re-inserted below.
        this.#recipientClaims.delete(this.#recipientClaims.keys().next().value!)
      }
      claims = prepareRecipientClaims(this.#sqlite, recipient)
    } else {
      this.#recipientClaims.delete(recipient)
    }
    this.#recipientClaims.set(recipient, claims)
    this.#lastClaimer = recipient
    return claims
  }

  /**
   * Inserts a message and its deliveries; the caller holds the write transaction. Undefined when the id
   * is another sender's (nothing written for it).
   */
  #insertRows(send: Seam.StoredSend, now: number): { duplicate: boolean; deliveries: number } | undefined {
    const values = messageColumnValues(send)
    const inserted = this.#stmt.insertMessage.run(...values)
    if (inserted.changes === 0) return this.#foreignId(send) ? undefined : DUPLICATE
    return {
      duplicate: false,
      deliveries: this.#insertDeliveries(send, inserted.lastInsertRowid, values[5], now),
    }
  }

  /** Whether the id of a send whose message row was not inserted is another sender's. */
  #foreignId({ message }: Seam.StoredSend): boolean {
    const sender = this.#messageSender.get(message.id)
    return sender !== undefined && sender !== message.fromAgent
  }

  /** Queues the deliveries of a message just stored at `seq` (its priority rank given); returns how many. */
  #insertDeliveries(send: Seam.StoredSend, seq: number | bigint, priority: number, now: number): number {
    let deliveries = 0
    for (const recipient of send.recipients) {
      deliveries += this.#stmt.insertDelivery.run(
        seq,
        recipient,
        priority,
        send.maxAttempts,
        send.availableAt,
        send.expiresAt,
        now,
        now,
      ).changes
    }
    return deliveries
  }
}

/**
 * `id` in decimal, as SQLite writes it into the receipt (`@receipt || '.' || id`), made without V8's
 * number-to-string cache: a template literal or `String(id)` keeps each new delivery id's string in that
 * cache (up to 16,384 entries) until later ids push it out, so every claim left a string that outlived
 * the young generation — garbage promoted to the old one, about 15 KB per young collection in a consumer
 * (the coordinator's `bench/consumer-rss.bench.mjs`). `toFixed(0)` is exact for every safe integer.
 */
function decimal(id: number): string {
  return id.toFixed(0)
}

const CHANGED: Seam.ChangeOutcome = Object.freeze({ changed: true }) as Seam.ChangeOutcome
const DUPLICATE = Object.freeze({ duplicate: true, deliveries: 0 })

function stateOf(row: DeliveryStateRow): Seam.DeliveryState {
  return { status: row.status, attempt: row.attempt, maxAttempts: row.maxAttempts, receipt: row.receipt }
}
