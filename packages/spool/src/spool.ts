import { randomBytes } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Clock, Logger, MessageInput, MessageV2 } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  ClosedError,
  createMessage,
  DeliveryNotFoundError,
  expiresAt,
  IdGenerator,
  InvalidStateError,
  LeaseLostError,
  Limits,
  MessageNotFoundError,
  parseMessage,
  parseOrThrow,
  priorityRank,
  StorageError,
  silentLogger,
  systemClock,
  utf8Length,
  ValidationError,
} from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3'
import { cleanup } from './cleanup.js'
import { type DatabaseFileOptions, openConnection, prepareDatabaseFile, toStorageError } from './database.js'
import { catchUpFullTextIndex } from './full-text.js'
import { isGroupTarget, releaseHeldMessages } from './held.js'
import {
  conversation,
  conversations,
  listFailed,
  listPending,
  retryFailed,
  search,
  stats,
  status,
  verify,
} from './inspect.js'
import { applyMigrations } from './migrate.js'
import {
  ClaimOptionsSchema,
  CleanupOptionsSchema,
  ExtendLeaseOptionsSchema,
  NackOptionsSchema,
  PendingOptionsSchema,
  SearchQuerySchema,
  SendOptionsSchema,
  WaitOptionsSchema,
} from './options.js'
import { checkedMessageFromRow } from './rows.js'
import type { MessageRow } from './schema.js'
import * as schema from './schema.js'
import {
  type ClaimedRow,
  type HotStatements,
  prepareHotStatements,
  prepareRecipientClaims,
  type RecipientClaims,
} from './statements.js'
import type {
  AckOptions,
  AckResult,
  ClaimedMessage,
  ClaimOptions,
  CleanupOptions,
  CleanupReport,
  ConversationSummary,
  ExtendLeaseOptions,
  FailedDelivery,
  MessageStatus,
  NackOptions,
  NackResult,
  PendingDelivery,
  SearchQuery,
  SendOptions,
  SendResult,
  SpoolStats,
  VerifyReport,
  WaitOptions,
} from './types.js'
import { ChangeWatcher } from './wait.js'

/** The spool's drizzle database. */
export type SpoolDatabase = BetterSQLite3Database<typeof schema>

/** Everything a spool is built from. Only `path` is required. */
export interface SpoolOptions extends DatabaseFileOptions {
  /** SQLite file (created with its folder if missing), or `:memory:` for a private in-process spool. */
  path: string
  clock?: Clock
  ids?: IdGenerator
  /** Default lease length in seconds (60). */
  leaseSeconds?: number
  /** Default attempts before a delivery is dead-lettered (3). */
  maxAttempts?: number
  /** Seconds before a nacked message is visible again, by attempt number (default: immediately). */
  retryDelaySeconds?: (attempt: number) => number
  /** Largest body accepted, in UTF-8 bytes (default and maximum: 1 MiB). */
  maxBodyBytes?: number
  /** How long a write waits for another process's lock, in ms (10 000). */
  busyTimeoutMs?: number
  /** Safety re-check interval of {@link Spool.waitForMessages} when file events are missed, in ms (1 000). */
  wakeIntervalMs?: number
  /** Where a claim reports a stored message it dead-lettered because it cannot be read (default: silent). */
  logger?: Logger
}

/** Folder of this package's drizzle-kit migrations (shipped beside `dist/`). */
export const SPOOL_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../drizzle')

/** The bound parameters of one round of a claim. */
interface ClaimParams {
  recipient: string
  now: number
  leaseUntil: number
  limit: number
  receipt: string
}

/** A validated send, ready to insert. */
interface PreparedSend {
  message: MessageV2
  recipients: string[]
  availableAt: number
  maxAttempts: number
}

const NO_SEND_OPTIONS: SendOptions = {}

function isEmpty(object: object): boolean {
  for (const _ in object) return false
  return true
}

/** Messages validated between two yields of a chunked batch. */
const PREPARE_CHUNK = 200

/** Lets I/O and other requests' callbacks run before going on. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Splits prepared sends into runs of at most `maxDeliveries` deliveries (a message with more is a run of its
 * own: a message and its deliveries are one write). Without a bound, one run: the whole batch.
 */
function chunkByDeliveries(prepared: PreparedSend[], maxDeliveries: number | undefined): PreparedSend[][] {
  if (maxDeliveries === undefined) return [prepared]
  const chunks: PreparedSend[][] = []
  let current: PreparedSend[] = []
  let deliveries = 0
  for (const p of prepared) {
    if (current.length > 0 && deliveries + p.recipients.length > maxDeliveries) {
      chunks.push(current)
      current = []
      deliveries = 0
    }
    current.push(p)
    deliveries += p.recipients.length
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(current)
  return chunks
}

/** How many recipients' claim statements a spool keeps prepared. */
const RECIPIENT_CLAIMS_CACHED = 256

const MESSAGE_NOT_LEASED =
  'is not leased by this agent, so there is nothing to ack or nack. Claim it first (poll), or see its state with status.'

/**
 * The durable message queue: at-least-once delivery between agents on one SQLite file that many processes
 * may share. Every method is async so another store can implement the same API; the SQLite work itself is
 * synchronous and short.
 */
export class Spool {
  /** Drizzle handle on the spool's database, for packages that keep their own tables beside it. */
  readonly db: SpoolDatabase
  /** The underlying better-sqlite3 connection. */
  readonly sqlite: BetterSqlite3.Database
  readonly path: string
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #ids: IdGenerator
  readonly #leaseSeconds: number
  readonly #maxAttempts: number
  readonly #retryDelaySeconds: (attempt: number) => number
  readonly #maxBodyBytes: number
  readonly #stmt: HotStatements
  readonly #watcher: ChangeWatcher
  // Transaction wrappers are built once: better-sqlite3 compiles BEGIN/COMMIT for each wrapper it creates.
  readonly #insertOne: BetterSqlite3.Transaction<(p: PreparedSend) => SendResult>
  readonly #insertMany: BetterSqlite3.Transaction<(ps: PreparedSend[]) => SendResult[]>
  readonly #holdOne: BetterSqlite3.Transaction<(p: PreparedSend, heldUntil: number) => void>
  readonly #releaseHeld: BetterSqlite3.Transaction<
    (params: Parameters<typeof releaseHeldMessages>[1]) => number
  >
  /** Who sent the message with an id, asked only when an insert finds the id taken. */
  readonly #messageSender: BetterSqlite3.Statement<[string], string>
  #lastSweep = Number.NEGATIVE_INFINITY
  #lastLeaseLook = Number.NEGATIVE_INFINITY
  readonly #recipientClaims = new Map<string, RecipientClaims>()
  #closed = false

  private constructor(sqlite: BetterSqlite3.Database, options: SpoolOptions) {
    this.sqlite = sqlite
    this.path = options.path
    this.db = drizzle({ client: sqlite, schema })
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#ids = options.ids ?? new IdGenerator(this.#clock)
    this.#leaseSeconds = options.leaseSeconds ?? 60
    this.#maxAttempts = options.maxAttempts ?? 3
    this.#retryDelaySeconds = options.retryDelaySeconds ?? (() => 0)
    this.#maxBodyBytes = Math.min(options.maxBodyBytes ?? Limits.bodyMaxBytes, Limits.bodyMaxBytes)
    this.#stmt = prepareHotStatements(sqlite)
    this.#messageSender = sqlite
      .prepare<[string], string>('SELECT from_agent FROM messages WHERE id = ?')
      .pluck()
    this.#insertOne = sqlite.transaction((p: PreparedSend) => this.#insertRows(p))
    this.#insertMany = sqlite.transaction((ps: PreparedSend[]) => ps.map((p) => this.#insertRows(p)))
    const setHold = sqlite.prepare('UPDATE messages SET held_until = ?, held_max_attempts = ? WHERE id = ?')
    this.#holdOne = sqlite.transaction((p: PreparedSend, heldUntil: number) => {
      // Stored if new (with no deliveries), or already stored by the send that reached the current
      // holders; either way the hold is set on the sender's own message only (another sender's id throws).
      this.#insertRows(p)
      setHold.run(heldUntil, p.maxAttempts, p.message.id)
    })
    this.#releaseHeld = sqlite.transaction((params: Parameters<typeof releaseHeldMessages>[1]) =>
      releaseHeldMessages(sqlite, params),
    )
    this.#watcher = new ChangeWatcher(
      {
        hasClaimable: (agent) => this.#hasClaimable(agent),
        nextAvailableAt: (agent) =>
          (this.#stmt.nextAvailableAt.get({ recipient: agent, now: this.#clock.now() }) as number | null) ??
          null,
        dataVersion: () => this.#stmt.dataVersion.get() as number,
        now: () => this.#clock.now(),
      },
      options.path === ':memory:' ? null : options.path,
      options.wakeIntervalMs ?? 1000,
    )
  }

  /**
   * Opens (creating if needed) the spool at `options.path` and migrates it to the current schema.
   * Throws `SchemaVersionError` for a database written by a newer version, `StorageError` for an
   * unusable file.
   */
  static async open(options: SpoolOptions): Promise<Spool> {
    if (options.path === '' || typeof options.path !== 'string') {
      throw new ValidationError('Invalid spool options: path must be a file path or :memory:')
    }
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path)
    prepareDatabaseFile(path, options)
    const sqlite = openConnection(path, { busyTimeoutMs: options.busyTimeoutMs, readonly: options.readonly })
    try {
      applyMigrations(
        sqlite,
        { folder: SPOOL_MIGRATIONS_FOLDER, table: '__agent_comm_spool_migrations', name: 'spool' },
        { allowForeignTables: options.allowForeignTables },
      )
      return new Spool(sqlite, { ...options, path })
    } catch (error) {
      sqlite.close()
      throw toStorageError(error, path)
    }
  }

  /** The clock this spool reads time from. */
  get clock(): Clock {
    return this.#clock
  }

  /** Default lease length in seconds. */
  get leaseSeconds(): number {
    return this.#leaseSeconds
  }

  /**
   * Stores a message and queues one delivery per recipient. A message to one agent goes to `toAgent`; a
   * broadcast or capability target goes to `options.recipients`. Sending an id that is already stored
   * changes nothing and reports `duplicate: true`.
   */
  async send(input: MessageV2 | MessageInput, options: SendOptions = {}): Promise<SendResult> {
    this.#open()
    const prepared = this.#prepareSend(input, options)
    const result = this.#write(() => this.#insertOne.immediate(prepared))
    if (result.deliveries > 0) this.#watcher.notify()
    return result
  }

  /**
   * Sends many messages in one transaction: all are stored or none. With `chunkDeliveries`, a batch
   * creating more deliveries than that is written in several transactions of about that many deliveries
   * (a message and its deliveries always in one), yielding to the event loop between them, so a large
   * fan-out does not stall every other caller of the process. Every message is validated, and every id
   * checked, before the first write; only a storage failure midway leaves the earlier chunks stored (a
   * retry reports them as duplicates).
   */
  async sendBatch(
    items: ReadonlyArray<{ message: MessageV2 | MessageInput; options?: SendOptions }>,
    batch: { chunkDeliveries?: number } = {},
  ): Promise<SendResult[]> {
    this.#open()
    const prepared: PreparedSend[] = []
    for (const [i, item] of items.entries()) {
      // Validating a message costs about as much as writing a few deliveries: a chunked batch yields
      // during validation too, so no stretch of it holds the event loop longer than a chunk does.
      if (batch.chunkDeliveries !== undefined && i > 0 && i % PREPARE_CHUNK === 0) await yieldToEventLoop()
      try {
        prepared.push(this.#prepareSend(item.message, item.options ?? {}))
      } catch (error) {
        if (error instanceof ValidationError) {
          throw new ValidationError(`Batch item ${i}: ${error.message}`, error.issues)
        }
        throw error
      }
    }
    this.#open()
    const chunks = chunkByDeliveries(prepared, batch.chunkDeliveries)
    if (chunks.length > 1) {
      for (const p of prepared) this.#refuseOtherSendersId(p.message)
    }
    const results: SendResult[] = []
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) {
        await yieldToEventLoop()
        this.#open()
      }
      const written = this.#write(() => this.#insertMany.immediate(chunk))
      if (written.some((r) => r.deliveries > 0)) this.#watcher.notify()
      results.push(...written)
    }
    return results
  }

  /**
   * Holds a `*` or `capability:<name>` message for agents that register later: until the message expires,
   * each agent that registers (or re-registers) matching its target, other than its sender, is given one
   * delivery of it (see {@link Spool.releaseHeld}; the registry calls it on every registration). Stores the
   * message first if it is not stored yet, so a group send that reaches nobody now is kept and `status`
   * finds it. Holding again changes nothing; agents that already have a delivery never get a second.
   * `maxAttempts` applies to the deliveries handed out later (default: the spool's).
   */
  async hold(
    input: MessageV2 | MessageInput,
    options: { maxAttempts?: number } = {},
  ): Promise<{ messageId: string; heldUntil: string; message: MessageV2 }> {
    this.#open()
    if (typeof input.toAgent === 'string' && !isGroupTarget(input.toAgent)) {
      throw new ValidationError(
        `Invalid hold: only a broadcast ('*') or capability ('capability:<name>') message can be held for later recipients, not one to '${input.toAgent}'`,
        [{ path: 'toAgent', message: "must be '*' or 'capability:<name>' to hold" }],
      )
    }
    const prepared = this.#prepareSend(input, {
      recipients: [],
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    })
    const { message } = prepared
    const heldUntil = expiresAt(message)
    this.#write(() => this.#holdOne.immediate(prepared, heldUntil))
    return { messageId: message.id, heldUntil: new Date(heldUntil).toISOString(), message }
  }

  /**
   * Queues for `agentId` one delivery of every held message it matches (addressed to `*`, or to one of
   * `capabilities`, not sent by it, not expired) that it does not have yet, in one transaction; returns
   * how many. Idempotent: deliveries are unique per message and recipient. A `Registry` on this spool's
   * database does this itself on every registration; call it when registering agents some other way.
   */
  async releaseHeld(agentId: string, capabilities: readonly string[]): Promise<{ released: number }> {
    this.#open()
    const agent = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    const released = this.#write(() =>
      this.#releaseHeld.immediate({
        agentId: agent,
        capabilities,
        now: this.#clock.now(),
        defaultMaxAttempts: this.#maxAttempts,
      }),
    )
    if (released > 0) this.#watcher.notify()
    return { released }
  }

  /**
   * Leases up to `limit` claimable messages of `agent`: most urgent first, then oldest. Each comes with a
   * receipt proving this claim. Two claimers never get the same delivery while its lease is live.
   */
  async claim(agent: string, options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const { limit, leaseSeconds } = parseOrThrow(ClaimOptionsSchema, options, 'claim options')
    const now = this.#clock.now()
    const leaseUntil = now + Math.round((leaseSeconds ?? this.#leaseSeconds) * 1000)
    const unreadable: { messageId: string; reason: string }[] = []
    const claimed = this.#write(() => {
      this.#sweepExhaustedLeases(now)
      const receipt = randomBytes(12).toString('hex')
      // Looking for run-out leases costs a query per claim, so a claim that fills its limit from the queue
      // looks at most every 250 ms; one that comes up short always looks.
      const lookNow = now - this.#lastLeaseLook >= 250 || now < this.#lastLeaseLook
      if (lookNow) this.#lastLeaseLook = now
      const claimed: ClaimedMessage[] = []
      // A message that cannot be read is dead-lettered, so the claim takes more in its place, in the same
      // transaction, until it is full or nothing claimable is left: good messages waiting behind an
      // unreadable one are returned now, not on a later claim. Each round dead-letters or returns every row
      // it takes, so the loop ends.
      let first = true
      while (claimed.length < limit) {
        const params = { recipient, now, leaseUntil, limit: limit - claimed.length, receipt }
        const rows = this.#claimRows(params, first && lookNow)
        first = false
        if (rows.length === 0) break
        const before = unreadable.length
        claimed.push(...this.#claimedMessages(rows, params, unreadable))
        if (unreadable.length === before) break
      }
      return claimed
    })
    // Reported once the transaction is done: a logger is never called with the write lock held.
    for (const { messageId, reason } of unreadable) {
      this.#logger.warn(
        { messageId, agent: recipient, reason },
        `${reason}. Its delivery to ${recipient} was dead-lettered: it is listed by listFailed (agent-comm failed); fix or delete the row, then retry it.`,
      )
    }
    return claimed
  }

  /**
   * Marks the delivery of `messageId` to `agent` done. With the receipt from its claim, an ack from a
   * consumer whose lease ran out and was claimed again is refused with `LeaseLostError`. Acking twice is
   * a harmless no-op reported as `alreadyAcked`.
   */
  async ack(messageId: string, agent: string, options: AckOptions = {}): Promise<AckResult> {
    this.#open()
    const receipt = options.receipt ?? null
    const now = this.#clock.now()
    return this.#write(() => {
      const changed = this.#stmt.ack.run({ messageId, recipient: agent, receipt, now }).changes
      if (changed === 1) return { messageId, recipient: agent, status: 'acked', alreadyAcked: false }
      const row = this.#requireDelivery(messageId, agent)
      if (row.status === 'acked') return { messageId, recipient: agent, status: 'acked', alreadyAcked: true }
      throw this.#notLeased(messageId, agent, row.status, receipt)
    })
  }

  /** Acks many deliveries in one transaction; fails as a whole if any ack is refused. */
  async ackBatch(
    items: ReadonlyArray<{ messageId: string; agent: string; receipt?: string }>,
  ): Promise<AckResult[]> {
    this.#open()
    const now = this.#clock.now()
    return this.#write(() =>
      this.sqlite
        .transaction(() =>
          items.map(({ messageId, agent, receipt }): AckResult => {
            const changed = this.#stmt.ack.run({
              messageId,
              recipient: agent,
              receipt: receipt ?? null,
              now,
            }).changes
            if (changed === 1) return { messageId, recipient: agent, status: 'acked', alreadyAcked: false }
            const row = this.#requireDelivery(messageId, agent)
            if (row.status === 'acked')
              return { messageId, recipient: agent, status: 'acked', alreadyAcked: true }
            throw this.#notLeased(messageId, agent, row.status, receipt ?? null)
          }),
        )
        .immediate(),
    )
  }

  /**
   * Gives a leased message back: it is queued again (visible after the delay) or, when its attempts are
   * used up or `deadLetter` is set, dead-lettered as `failed` with the reason. Only a leased delivery can be nacked: an acked
   * message is never resurrected.
   */
  async nack(messageId: string, agent: string, options: NackOptions = {}): Promise<NackResult> {
    this.#open()
    const { reason, receipt, delaySeconds, deadLetter } = parseOrThrow(
      NackOptionsSchema,
      options,
      'nack options',
    )
    const now = this.#clock.now()
    return this.#write(() => {
      const current = this.#stmt.delivery.get(messageId, agent) as { attempt: number } | undefined
      const delay = delaySeconds ?? this.#retryDelaySeconds(current?.attempt ?? 1)
      const row = this.#stmt.nack.get({
        messageId,
        recipient: agent,
        receipt: receipt ?? null,
        reason: reason ?? 'nacked',
        availableAt: now + Math.round(delay * 1000),
        deadLetter: deadLetter === true ? 1 : 0,
        now,
      }) as
        | { status: 'queued' | 'failed'; attempt: number; maxAttempts: number; availableAt: number }
        | undefined
      if (row === undefined) {
        const found = this.#requireDelivery(messageId, agent)
        if (found.status === 'acked') {
          throw new InvalidStateError(
            `Message '${messageId}' was already acked by '${agent}'; a nack cannot bring it back`,
            { details: { messageId, agentId: agent, status: found.status } },
          )
        }
        throw this.#notLeased(messageId, agent, found.status, receipt ?? null)
      }
      if (row.status === 'queued') this.#watcher.notify()
      return {
        messageId,
        recipient: agent,
        status: row.status,
        attempt: row.attempt,
        maxAttempts: row.maxAttempts,
        ...(row.status === 'queued' ? { availableAt: new Date(row.availableAt).toISOString() } : {}),
      }
    })
  }

  /** Pushes the lease of a message being worked on out to `leaseSeconds` from now. */
  async extendLease(
    messageId: string,
    agent: string,
    options: ExtendLeaseOptions = {},
  ): Promise<{ messageId: string; recipient: string; leaseUntil: string }> {
    this.#open()
    const { receipt, leaseSeconds } = parseOrThrow(ExtendLeaseOptionsSchema, options, 'lease options')
    const now = this.#clock.now()
    const leaseUntil = now + Math.round((leaseSeconds ?? this.#leaseSeconds) * 1000)
    return this.#write(() => {
      const row = this.#stmt.extendLease.get({
        messageId,
        recipient: agent,
        receipt: receipt ?? null,
        leaseUntil,
        now,
      }) as { leaseUntil: number } | undefined
      if (row === undefined) {
        const found = this.#requireDelivery(messageId, agent)
        throw this.#notLeased(messageId, agent, found.status, receipt ?? null)
      }
      return { messageId, recipient: agent, leaseUntil: new Date(row.leaseUntil).toISOString() }
    })
  }

  /**
   * Resolves `true` as soon as `agent` has a claimable message — including one sent by another process on
   * the same file — or `false` on timeout or abort. It does not claim: call {@link claim} next.
   */
  async waitForMessages(agent: string, options: WaitOptions = {}): Promise<boolean> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const { timeoutMs, signal } = parseOrThrow(WaitOptionsSchema, options, 'wait options')
    return this.#watcher.wait(recipient, timeoutMs, signal)
  }

  /** A message and every delivery of it, with attempts, leases and last errors. */
  async status(messageId: string): Promise<MessageStatus> {
    this.#open()
    this.#sweepExhaustedLeases(this.#clock.now(), true)
    const found = status(this.db, messageId, this.#clock.now())
    if (found === undefined) throw new MessageNotFoundError(messageId)
    return found
  }

  /** Every message of a conversation, oldest first. */
  async conversation(conversationId: string): Promise<MessageV2[]> {
    this.#open()
    return conversation(this.db, conversationId)
  }

  /** Threads, most recently active first. */
  async conversations(options: { limit?: number; agent?: string } = {}): Promise<ConversationSummary[]> {
    this.#open()
    return conversations(this.sqlite, options)
  }

  /** Messages matching every given filter, newest first; `text` searches subject and body. */
  async search(query: SearchQuery = {}): Promise<MessageV2[]> {
    this.#open()
    const parsed = parseOrThrow(SearchQuerySchema, query, 'search query')
    if (parsed.text !== undefined) this.#write(() => catchUpFullTextIndex(this.sqlite))
    return search(this.db, parsed, this.sqlite.readonly)
  }

  /** Counts by status, queue ages, failure rate and per-agent depth. */
  async stats(): Promise<SpoolStats> {
    this.#open()
    const now = this.#clock.now()
    this.#sweepExhaustedLeases(now, true)
    return stats(this.sqlite, now)
  }

  /**
   * The messages waiting for `agent` — queued (due or delayed) or leased, not expired — with their
   * deliveries, in the order claims hand them out (most urgent first, then oldest), at most `limit` (50,
   * up to 1000). A peek: nothing is claimed or changed.
   */
  async pending(agent: string, options: { limit?: number } = {}): Promise<PendingDelivery[]> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const { limit } = parseOrThrow(PendingOptionsSchema, options, 'pending options')
    const now = this.#clock.now()
    this.#sweepExhaustedLeases(now, true)
    return listPending(this.db, recipient, limit, now)
  }

  /** Dead-lettered deliveries, newest first. */
  async listFailed(options: { agent?: string; limit?: number } = {}): Promise<FailedDelivery[]> {
    this.#open()
    const now = this.#clock.now()
    this.#sweepExhaustedLeases(now, true)
    return listFailed(this.db, options, now)
  }

  /** Requeues dead-lettered deliveries of a message (for one agent, or all) with fresh attempts. */
  async retryFailed(messageId: string, agent?: string): Promise<{ requeued: number }> {
    this.#open()
    const now = this.#clock.now()
    const requeued = this.#write(() => {
      this.#sweepExhaustedLeases(now, true)
      const count = retryFailed(this.db, messageId, agent, now)
      if (count === 0) {
        if (agent === undefined) {
          if (this.#stmt.messageExists.get(messageId) === undefined) throw new MessageNotFoundError(messageId)
          throw new InvalidStateError(`Message '${messageId}' has no failed deliveries to retry`)
        }
        const row = this.#requireDelivery(messageId, agent)
        throw new InvalidStateError(
          `Message '${messageId}' for '${agent}' is ${row.status}, not failed; only failed deliveries can be retried`,
        )
      }
      return count
    })
    this.#watcher.notify()
    return { requeued }
  }

  /** Runs `PRAGMA integrity_check` and the spool's invariant checks. */
  async verify(): Promise<VerifyReport> {
    this.#open()
    this.#write(() => catchUpFullTextIndex(this.sqlite))
    return verify(this.sqlite)
  }

  /** Removes expired messages (and, if asked, long-acked ones), or with `dryRun` only counts them. */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
    this.#open()
    const parsed = parseOrThrow(CleanupOptionsSchema, options, 'cleanup options')
    return this.#write(() => cleanup(this.sqlite, parsed, this.#clock.now()))
  }

  /** Closes the database; pending waits resolve `false`. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#watcher.close()
    this.sqlite.close()
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This spool')
  }

  #write<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      throw toStorageError(error, this.path)
    }
  }

  /**
   * Leases up to `params.limit` claimable deliveries of `params.recipient` and returns their rows in claim
   * order (priority, then arrival). `lookForExpired` asks first whether a run-out lease is waiting.
   */
  #claimRows(params: ClaimParams, lookForExpired: boolean): ClaimedRow[] {
    const { limit } = params
    const expired = lookForExpired && this.#stmt.hasExpiredLease.get(params) === 1
    const own = this.#claimsFor(params.recipient)
    const statement = expired ? this.#stmt.claimWithExpired : limit === 1 ? own.claimOne : own.claim
    let rows: ClaimedRow[]
    if (statement === own.claimOne) {
      const row = statement.get(params) as ClaimedRow | undefined
      rows = row === undefined ? [] : [row]
    } else {
      rows = statement.all(params) as ClaimedRow[]
    }
    if (!lookForExpired && rows.length < limit && this.#stmt.hasExpiredLease.get(params) === 1) {
      rows = rows.concat(
        this.#stmt.claimWithExpired.all({ ...params, limit: limit - rows.length }) as ClaimedRow[],
      )
    }
    return rows
  }

  /**
   * The claimed messages of leased `rows`, in claim order. A row whose message cannot be read is
   * dead-lettered alone — handed out, it would fail its consumer on every claim and, with others, fail them
   * too — its reason kept as the last error and added to `unreadable`.
   */
  #claimedMessages(
    rows: ClaimedRow[],
    params: ClaimParams,
    unreadable: { messageId: string; reason: string }[],
  ): ClaimedMessage[] {
    const { recipient, now, leaseUntil, receipt } = params
    const messageRows = (
      rows.length === 1
        ? this.#stmt.messageBySeq.all(rows[0]!.messageSeq)
        : this.#stmt.messagesBySeq.all(JSON.stringify(rows.map((r) => r.messageSeq)))
    ) as MessageRow[]
    const bySeq = new Map<number, MessageRow>()
    for (const row of messageRows) bySeq.set(row.seq, row)
    // RETURNING order is unspecified: restore the claim order (priority, then arrival) before building.
    if (rows.length > 1) {
      rows.sort(
        (a, b) =>
          (bySeq.get(a.messageSeq)?.priority ?? 0) - (bySeq.get(b.messageSeq)?.priority ?? 0) || a.id - b.id,
      )
    }
    const leaseUntilIso = new Date(leaseUntil).toISOString()
    const claimed: ClaimedMessage[] = []
    for (const row of rows) {
      const message = bySeq.get(row.messageSeq)
      if (message === undefined) continue
      let checked: MessageV2
      try {
        checked = checkedMessageFromRow(message)
      } catch (error) {
        if (!(error instanceof StorageError)) throw error
        this.#stmt.nack.get({
          messageId: message.id,
          recipient,
          receipt: `${receipt}.${row.id}`,
          deadLetter: 1,
          availableAt: now,
          reason: error.message,
          now,
        })
        unreadable.push({ messageId: message.id, reason: error.message })
        continue
      }
      claimed.push({
        message: checked,
        lease: {
          recipient,
          attempt: row.attempt,
          maxAttempts: row.maxAttempts,
          leaseUntil: leaseUntilIso,
          receipt: `${receipt}.${row.id}`,
        },
      })
    }
    return claimed
  }

  /** The recipient's own claim statements, prepared on first use (see `prepareRecipientClaims`). */
  #claimsFor(recipient: string): RecipientClaims {
    let claims = this.#recipientClaims.get(recipient)
    if (claims === undefined) {
      if (this.#recipientClaims.size >= RECIPIENT_CLAIMS_CACHED) {
        // Forget the least recently used: a Map keeps insertion order, and a hit is re-inserted below.
        this.#recipientClaims.delete(this.#recipientClaims.keys().next().value!)
      }
      claims = prepareRecipientClaims(this.sqlite, recipient)
    } else {
      this.#recipientClaims.delete(recipient)
    }
    this.#recipientClaims.set(recipient, claims)
    return claims
  }

  #hasClaimable(agent: string): boolean {
    return this.#stmt.hasClaimable.get({ recipient: agent, now: this.#clock.now() }) === 1
  }

  /**
   * Moves leases that ran out on their last attempt to `failed`, so nothing stays leased forever. Claims do
   * it at most once a second (the claim query already skips such leases); reads that report state force it.
   */
  #sweepExhaustedLeases(now: number, force = false): void {
    // A read-only spool leaves the sweep to a writer: a lease that ran out on its last attempt shows as leased.
    if (this.sqlite.readonly || (!force && now - this.#lastSweep < 1000 && now >= this.#lastSweep)) return
    this.#lastSweep = now
    this.#stmt.failExhaustedLeases.run({ now })
  }

  #prepareSend(input: MessageV2 | MessageInput, options: SendOptions): PreparedSend {
    const message =
      'version' in input ? parseMessage(input) : createMessage(input, { clock: this.#clock, ids: this.#ids })
    // Most sends pass no options: skip validating an empty object on this hot path.
    const opts = isEmpty(options) ? NO_SEND_OPTIONS : parseOrThrow(SendOptionsSchema, options, 'send options')
    if (utf8Length(message.body) > this.#maxBodyBytes) {
      throw new ValidationError(`Invalid message: body: must be at most ${this.#maxBodyBytes} bytes`, [
        { path: 'body', message: `must be at most ${this.#maxBodyBytes} bytes` },
      ])
    }
    let recipients: string[]
    const group = message.toAgent === '*' || message.toAgent.startsWith('capability:')
    if (opts.recipients !== undefined) {
      recipients = [...new Set(opts.recipients.map((r) => parseOrThrow(AgentIdSchema, r, 'recipient')))]
      // A direct message goes to its address: recipients naming anyone else would deliver it to agents the
      // message does not name (and that its reader believes were not sent it). Routers may still pass the
      // address itself.
      if (!group && (recipients.length !== 1 || recipients[0] !== message.toAgent)) {
        throw new ValidationError(
          `Invalid send: a message to '${message.toAgent}' goes to that agent only; recipients are for a broadcast ('*') or capability ('capability:<name>') target`,
          [{ path: 'recipients', message: `must be omitted or ['${message.toAgent}'] for a direct message` }],
        )
      }
    } else if (group) {
      throw new ValidationError(
        `Invalid send: '${message.toAgent}' is a group address; pass the recipients (the coordinator resolves them from the registry)`,
        [{ path: 'recipients', message: 'required for a broadcast or capability target' }],
      )
    } else {
      recipients = [message.toAgent]
    }
    const notBefore = opts.notBefore instanceof Date ? opts.notBefore.getTime() : opts.notBefore
    return {
      message,
      recipients,
      availableAt: Math.max(notBefore ?? 0, this.#clock.now() + Math.round((opts.delaySeconds ?? 0) * 1000)),
      maxAttempts: opts.maxAttempts ?? this.#maxAttempts,
    }
  }

  /** Inserts a message and its deliveries; the caller holds the write transaction. */
  #insertRows(p: PreparedSend): SendResult {
    const { message } = p
    const now = this.#clock.now()
    const expires = expiresAt(message)
    const priority = priorityRank(message.priority)
    {
      const inserted = this.#stmt.insertMessage.run(
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
        expires,
      )
      if (inserted.changes === 0) {
        this.#refuseOtherSendersId(message)
        return { messageId: message.id, duplicate: true, deliveries: 0, recipients: p.recipients, message }
      }
      let deliveries = 0
      for (const recipient of p.recipients) {
        deliveries += this.#stmt.insertDelivery.run(
          inserted.lastInsertRowid,
          recipient,
          priority,
          p.maxAttempts,
          p.availableAt,
          expires,
          now,
          now,
        ).changes
      }
      return { messageId: message.id, duplicate: false, deliveries, recipients: p.recipients, message }
    }
  }

  /** Throws when `message`'s id is held by another sender's message (see the comment inside). */
  #refuseOtherSendersId(message: MessageV2): void {
    const sender = this.#messageSender.get(message.id)
    if (sender === undefined || sender === message.fromAgent) return
    // Another sender's id. Reporting `duplicate: true` would silently drop an honest sender's message
    // (and confirm the id exists all the same); storing it is impossible (ids are unique). Refusing
    // does say the id is taken, but generated ids carry 79 random bits per millisecond, so a sender
    // can only ask about ids it already saw (or their successors within the same millisecond), and
    // learns that they exist, not their sender, recipients or content. Losing a message silently is
    // the worse harm: the honest sender is told to pick a new id instead, and a retry by the same
    // sender stays an idempotent `duplicate: true`.
    throw new ValidationError(
      `Invalid message: id: '${message.id}' is already used by another sender's message; send it with a new id (createMessage generates one)`,
      [{ path: 'id', message: 'already used by another sender' }],
    )
  }

  #requireDelivery(
    messageId: string,
    agent: string,
  ): { status: string; receipt: string | null; attempt: number; maxAttempts: number } {
    const row = this.#stmt.delivery.get(messageId, agent) as
      | { status: string; receipt: string | null; attempt: number; maxAttempts: number }
      | undefined
    if (row !== undefined) return row
    // "No such message" and "a message not sent to you" get one answer: telling them apart on an agent's
    // own ack, nack and extend would let it probe which message ids exist between other agents.
    throw new DeliveryNotFoundError(messageId, agent, {
      hint: `Check the id: '${agent}' has no delivery of it (it was never sent to '${agent}', or it expired and was cleaned up). Messages sent to it: agent-comm search --to ${agent}`,
    })
  }

  #notLeased(messageId: string, agent: string, status: string, receipt: string | null): Error {
    // A receipt that no longer matches means our claim was superseded: the lease was lost.
    if (receipt !== null && (status === 'leased' || status === 'queued'))
      return new LeaseLostError(messageId, agent)
    if (status === 'failed') {
      return new InvalidStateError(`Message '${messageId}' for '${agent}' was dead-lettered (failed)`, {
        hint: `Requeue it with: agent-comm retry ${messageId} ${agent}`,
        details: { messageId, agentId: agent, status },
      })
    }
    return new InvalidStateError(
      `Message '${messageId}' for '${agent}' is ${status} and ${MESSAGE_NOT_LEASED}`,
      {
        details: { messageId, agentId: agent, status },
      },
    )
  }
}
