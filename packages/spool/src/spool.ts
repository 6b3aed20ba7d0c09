import type { Clock, Logger, MessageInput, MessageV2 } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  assertApprovalDecision,
  assertNoNul,
  assertTraceMetadata,
  ClosedError,
  ConflictError,
  ConversationIdSchema,
  createMessage,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_LIST_LIMIT,
  DEFAULT_MAX_ATTEMPTS,
  DeliveryNotFoundError,
  decidedBySenderProblem,
  expiresAt,
  ForbiddenError,
  IdGenerator,
  InvalidStateError,
  LeaseLostError,
  Limits,
  MAX_LIST_LIMIT,
  MessageIdSchema,
  MessageNotFoundError,
  parseMessage,
  parseOrThrow,
  RandomPool,
  StorageError,
  silentLogger,
  systemClock,
  utf8Length,
  ValidationError,
} from '@agent-comm/protocol'
import { ChangeSignal } from './change-signal.js'
import {
  ClaimOptionsSchema,
  ClaimReplyOptionsSchema,
  CleanupOptionsSchema,
  ExtendLeaseOptionsSchema,
  NackOptionsSchema,
  PendingOptionsSchema,
  ReplySendersSchema,
  SearchQuerySchema,
  SendOptionsSchema,
  WaitOptionsSchema,
} from './options.js'
import { isPostgresUrl, openPostgresStoreFromUrl, refuseSqliteFileOptions } from './postgres-url.js'
import { checkedMessageFromRow } from './rows.js'
import { noSharedForm, type SharedStoreOpener } from './shared-store.js'
import type { DatabaseFileOptions } from './sqlite/database.js'
import { SqliteSpoolStore } from './sqlite/store.js'
import type {
  ClaimOutcome,
  ClaimParams,
  DeliveryState,
  InsertResult,
  MessageRecord,
  SpoolStore,
  StoredSend,
} from './store.js'
import { isGroupTarget } from './targets.js'
import type {
  AckOptions,
  AckResult,
  ClaimedMessage,
  ClaimOptions,
  ClaimReplyOptions,
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

/**
 * Everything a spool is built from: exactly one of `path` (the SQLite store, opened and migrated here, with
 * the file options) or `store` (any {@link SpoolStore}, e.g. PostgreSQL's, already open).
 */
export interface SpoolOptions extends DatabaseFileOptions {
  /**
   * SQLite file (created with its folder if missing), `:memory:` for a private in-process spool, or a
   * `postgres://` / `postgresql://` URL (needs `@agent-comm/postgres` installed; the tables go in its
   * default schema `agent_comm`: for another schema or pool size, pass `store` from that package).
   */
  path?: string | undefined
  /** A store already open (the spool closes it on close). The SQLite file options do not apply. */
  store?: SpoolStore | undefined
  clock?: Clock | undefined
  ids?: IdGenerator | undefined
  /** Default lease length in seconds (60). */
  leaseSeconds?: number | undefined
  /** Default attempts before a delivery is dead-lettered (3). */
  maxAttempts?: number | undefined
  /** Seconds before a nacked message is visible again, by attempt number (default: immediately). */
  retryDelaySeconds?: ((attempt: number) => number) | undefined
  /** Largest body accepted, in UTF-8 bytes (default and maximum: 1 MiB). */
  maxBodyBytes?: number | undefined
  /** SQLite: how long a write waits for another process's lock, in ms (10 000). */
  busyTimeoutMs?: number | undefined
  /** Safety re-check interval of {@link Spool.waitForMessages} when change hints are missed, in ms (1 000). */
  wakeIntervalMs?: number | undefined
  /**
   * How long an idempotency key holds, in ms (default 24 h): within it, a send by the same sender with the
   * same key is a duplicate of the first; after it, the key is free again.
   */
  idempotencyWindowMs?: number | undefined
  /** Where a claim reports a stored message it dead-lettered because it cannot be read (default: silent). */
  logger?: Logger | undefined
}

/** A validated send, ready to store. */
type PreparedSend = StoredSend & { recipients: string[] }

/** The moment a send (or a whole batch) is prepared at: one clock reading, and the ids to make. */
interface SendMoment {
  now: number
  clock: Clock
  ids: IdGenerator
}

/** The result of a send that stored its message. */
function newSendResult(prepared: PreparedSend, result: InsertResult): SendResult {
  const { message, recipients } = prepared
  return { messageId: message.id, duplicate: false, deliveries: result.deliveries, recipients, message }
}

const NO_SEND_OPTIONS: SendOptions = {}

function isEmpty(object: object): boolean {
  for (const _ in object) return false
  return true
}

/**
 * Most sends one group commit stores in its transaction; more sends issued together take several. Bounds
 * how long one commit holds the write lock and how much one refused send makes the others redo alone.
 */
const GROUP_COMMIT_MAX_SENDS = 256

/** A send waiting in a group commit, and how to settle its caller's promise. */
interface QueuedSend {
  prepared: PreparedSend
  resolve: (result: InsertResult) => void
  reject: (error: unknown) => void
}

/** The sends of one group commit; `started` once its transaction was begun (by its microtask or `close`). */
interface SendGroup {
  sends: QueuedSend[]
  started: boolean
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

/**
 * Turns a claimed row into the consumer's message, or the reason it cannot be read (the claim then
 * dead-letters that delivery).
 */
function decodeClaimed(row: MessageRecord): { value: MessageV2 } | { unreadable: string } {
  try {
    return { value: checkedMessageFromRow(row) }
  } catch (error) {
    if (!(error instanceof StorageError)) throw error
    return { unreadable: error.message }
  }
}

/** The error of a message whose id is held by another sender's message (see the comment inside). */
function otherSendersId(message: MessageV2): ConflictError {
  // Another sender's id. Reporting `duplicate: true` would silently drop an honest sender's message
  // (and confirm the id exists all the same); storing it is impossible (ids are unique). Refusing
  // does say the id is taken, but generated ids carry 79 random bits per millisecond, so a sender
  // can only ask about ids it already saw (or their successors within the same millisecond), and
  // learns that they exist, not their sender, recipients or content. Losing a message silently is
  // the worse harm: the honest sender is told to pick a new id instead, and a retry by the same
  // sender stays an idempotent `duplicate: true`.
  return new ConflictError(`Message id '${message.id}' is already used by another sender's message`, {
    hint: 'Send it with a new id (createMessage generates one); to make retries safe, use an idempotency key.',
    details: { messageId: message.id },
  })
}

/**
 * What a retry must repeat to be the same message: everything its reader sees — recipient, subject, body,
 * priority, payload and the message it answers (`replyTo`). Metadata is left out: it carries the sender's
 * trace context, which a retry from another span legitimately changes. The conversation id is compared by
 * the id rule only (see `sameThread`): a retry under a new id (the idempotency key rule) mints a new
 * conversation id for a new thread just as it mints a new message id.
 */
function sameContent(a: MessageV2, b: MessageV2): boolean {
  return (
    a.toAgent === b.toAgent &&
    a.subject === b.subject &&
    a.body === b.body &&
    a.priority === b.priority &&
    (a.routing.replyTo ?? null) === (b.routing.replyTo ?? null) &&
    JSON.stringify(a.payload ?? null) === JSON.stringify(b.payload ?? null)
  )
}

/** Whether a message resent under its own id stays in its conversation (the id rule compares it too). */
function sameThread(a: MessageV2, b: MessageV2): boolean {
  return a.routing.conversationId === b.routing.conversationId
}

/** The error of a sender re-sending one of its ids with other content (see `sameContent`). */
function changedContent(message: MessageV2): ConflictError {
  // Reporting `duplicate: true` would tell the sender its new content was delivered when it was not.
  return new ConflictError(
    `Message id '${message.id}' was already sent by '${message.fromAgent}' with other content; nothing was sent`,
    {
      hint: 'A retry must repeat the message exactly; send new content with a new id (or the same idempotency key to make it the retry of the first).',
      details: { messageId: message.id },
    },
  )
}

/**
 * The error of a keyed send whose content differs from the message its key first stored (see
 * `sameContent`). The rule of a resent id, for the same reason: `duplicate: true` would tell the sender its
 * new content was delivered — and a `request` would take the answer to the first question as the answer
 * to the second.
 */
function changedKeyedContent(message: MessageV2, key: string, originalId: string): ConflictError {
  return new ConflictError(
    `Idempotency key '${key}' of '${message.fromAgent}' already sent message '${originalId}' with other content; the first message was kept and nothing was sent`,
    {
      hint: 'A retry with a key must repeat the first message exactly; send new content with a new idempotency key (or none).',
      details: { idempotencyKey: key, originalId, messageId: message.id },
    },
  )
}

/** Whether `message` is an approval response to a request (see `Spool.#checkDecision`). */
function answersApproval(message: MessageV2): boolean {
  return message.payload?.type === 'approval_response' && message.routing.replyTo !== undefined
}

/** Default window of an idempotency key: 24 hours. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000

/**
 * Messages one transaction of a `cleanup` removes: a backlog (the first cleanup of a relay's month of
 * history) goes in short transactions, so other processes' writes are served in between rather than waiting
 * out one long one (on SQLite, past their busy timeout).
 */
export const CLEANUP_BATCH = 1000

const MESSAGE_NOT_LEASED =
  'is not leased by this agent, so there is nothing to ack or nack. Claim it first (poll), or see its state with status.'

/** The recipient `ping` asks about: a read that finds nothing, whatever the spool holds. */
const PING_RECIPIENT = 'spool.ping'

let storeOfSpool: (spool: Spool) => SpoolStore

/** The store of `spool`: for `@agent-comm/spool/testing` only, not exported from the package's index. */
export function storeOf(spool: Spool): SpoolStore {
  return storeOfSpool(spool)
}

/**
 * The durable message queue: at-least-once delivery between agents, on a {@link SpoolStore} — by default
 * SQLite, one file that many processes may share. The spool owns what the queue means (validation, ids,
 * defaults, time, receipts, retries, error codes, waking waiters); the store keeps the rows, each operation
 * one transaction.
 */
export class Spool {
  static {
    // `@agent-comm/spool/testing` reaches the store through this, and nothing else does.
    storeOfSpool = (spool) => spool.#store
  }

  /** Where the data is: the SQLite file's absolute path (or `:memory:`), or another store's `location`. */
  readonly path: string
  readonly #store: SpoolStore
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #ids: IdGenerator
  /** Where lease receipts get their randomness. */
  readonly #random = new RandomPool()
  readonly #leaseSeconds: number
  readonly #maxAttempts: number
  readonly #retryDelaySeconds: (attempt: number) => number
  readonly #maxBodyBytes: number
  readonly #idempotencyWindowMs: number
  readonly #watcher: ChangeWatcher
  /** Waits for one reply: its keys are `${agent}\u0000${replyTo}` (see `waitForReply`). */
  readonly #replyWatcher: ChangeWatcher
  /** Wakes `waitForChange` callers at any write (see {@link ChangeSignal}). */
  readonly #changes: ChangeSignal
  /** The sends the next group commit stores together (see `send`), until it starts or fills up. */
  #queuedSends: SendGroup | undefined
  /** The group commits under way: `close` waits for them before closing the store. */
  readonly #groupCommits = new Set<Promise<void>>()
  #closed = false

  private constructor(store: SpoolStore, options: SpoolOptions) {
    this.#store = store
    this.path = store.location
    this.#clock = options.clock ?? store.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#ids = options.ids ?? new IdGenerator(this.#clock)
    this.#leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    this.#retryDelaySeconds = options.retryDelaySeconds ?? (() => 0)
    this.#maxBodyBytes = Math.min(options.maxBodyBytes ?? Limits.bodyMaxBytes, Limits.bodyMaxBytes)
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS
    // The safety tick of both watchers: leases and delays run out without a write to wake anyone.
    const wakeIntervalMs = options.wakeIntervalMs ?? 1000
    this.#watcher = new ChangeWatcher(
      {
        hasClaimable: (agent) => store.hasClaimable({ recipient: agent, now: this.#clock.now() }),
        nextAvailableAt: (agent) => store.nextAvailableAt({ recipient: agent, now: this.#clock.now() }),
        watch: (onChange) => store.watch(onChange),
        now: () => this.#clock.now(),
      },
      wakeIntervalMs,
    )
    this.#changes = new ChangeSignal(store)
    this.#replyWatcher = new ChangeWatcher(
      {
        hasClaimable: (key) => {
          const [recipient, replyTo, from] = JSON.parse(key) as [string, string, string[] | null]
          return store.hasReply({ recipient, replyTo, from: from ?? undefined, now: this.#clock.now() })
        },
        // A delayed reply, or one whose lease runs out, is found by the safety tick (`wakeIntervalMs`).
        nextAvailableAt: async () => null,
        watch: (onChange) => store.watch(onChange),
        now: () => this.#clock.now(),
      },
      wakeIntervalMs,
    )
  }

  /**
   * Opens a spool. With `path`: opens (creating if needed) the SQLite file and migrates it to the current
   * schema; throws `SchemaVersionError` for a database written by a newer version, `StorageError` for an
   * unusable file. With a `postgres://` / `postgresql://` URL as `path`: imports `@agent-comm/postgres`
   * (from where the spool is installed, else from the current folder) and opens its store there; a
   * `ValidationError` with hint `npm install @agent-comm/postgres` when it is not installed, and for
   * `readonly: true` or `allowForeignTables: true`, which apply to a SQLite file only. With `store`:
   * uses that store as it is. Exactly one of `path` and `store` (else `ValidationError`).
   */
  static async open(options: SpoolOptions): Promise<Spool> {
    const hasPath = options.path !== undefined
    const hasStore = options.store !== undefined
    if (hasPath === hasStore) {
      throw new ValidationError(
        'Invalid spool options: give exactly one of path (a SQLite file or :memory:) and store (an open SpoolStore)',
        [
          {
            path: hasPath ? 'store' : 'path',
            message: hasPath ? 'must be omitted when path is given' : 'required',
          },
        ],
      )
    }
    if (options.store !== undefined) return new Spool(options.store, options)
    if (options.path === '' || typeof options.path !== 'string') {
      throw new ValidationError('Invalid spool options: path must be a file path or :memory:')
    }
    if (isPostgresUrl(options.path)) {
      refuseSqliteFileOptions(options)
      return new Spool(await openPostgresStoreFromUrl(options.path, options.logger), options)
    }
    const store = await SqliteSpoolStore.open({
      path: options.path,
      create: options.create,
      allowForeignTables: options.allowForeignTables,
      readonly: options.readonly,
      busyTimeoutMs: options.busyTimeoutMs,
    })
    return new Spool(store, options)
  }

  /** Which store keeps this spool's rows: `sqlite`, or another store's `kind` (`postgres`). */
  get storeKind(): string {
    return this.#store.kind
  }

  /**
   * Opens a store of another package in this spool's database, so one file (and, on SQLite, one
   * connection: the spool's group commit holds a write transaction open across microtasks, which a second
   * connection would wait on) keeps both: the registry, the A2A store, the relay's nonces. The opener's
   * form for this spool's store kind is handed the connection and returns the store; the connection is not
   * closed by it but by {@link close}. Throws `ValidationError` naming the store kind when the opener has no
   * form for it, `ClosedError` after close.
   */
  openShared<T>(opener: SharedStoreOpener<T>): T {
    this.#open()
    const store = this.#store
    if (store instanceof SqliteSpoolStore && opener.sqlite !== undefined)
      return opener.sqlite(store.connection)
    throw noSharedForm(opener, store.kind, store.location)
  }

  /**
   * One cheap read of the store, for readiness probes: resolves when the database answers, rejects with
   * `StorageError` when it does not (a lost server, a file gone bad) and `ClosedError` after close.
   */
  async ping(): Promise<void> {
    this.#open()
    await this.#store.hasClaimable({ recipient: PING_RECIPIENT, now: this.#clock.now() })
  }

  /**
   * Calls `onChange` when another process (or connection) may have committed to the store: a hint, read
   * again to see what changed (nothing for `:memory:`). Returns the function that stops watching.
   */
  watch(onChange: () => void): () => void {
    this.#open()
    return this.#store.watch(onChange)
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
   * broadcast or capability target goes to `options.recipients`. Sending an id that the sender already
   * stored, with the same content, changes nothing and reports `duplicate: true`; with other content it is
   * refused (`ConflictError`), as is an id another sender used. With `options.idempotencyKey`, a send by the
   * same sender with the same key within the window (`idempotencyWindowMs`, 24 h) is a duplicate of the
   * first whatever its id: it reports the first message's id and stores nothing; with other content than
   * the first (recipient, subject, body, priority, payload, `replyTo`) it is refused (`ConflictError`
   * naming the key): the first message was kept and the new content was not sent.
   *
   * Sends issued together — before the current run of promise callbacks ends, as concurrent callers'
   * sends are — share one transaction (group commit): each resolves once that commit is done, with the
   * result it would have had alone. One refused send (another sender's id) or a failed commit makes each
   * of them try again in a transaction of its own, so no send fails for another's sake.
   */
  async send(input: MessageV2 | MessageInput, options: SendOptions = {}): Promise<SendResult> {
    this.#open()
    const prepared = this.#prepareSend(input, options)
    // Only an approval response waits for a lookup: every other send joins the group commit at once.
    if (answersApproval(prepared.message)) await this.#checkDecision(prepared.message)
    return this.#sendResult(prepared, await this.#storeTogether(prepared))
  }

  /**
   * Refuses an `approval_response` whose decision the request it answers did not offer, when that request
   * is in this store (see `assertApprovalDecision`). Only approval responses pay for the lookup.
   */
  async #checkDecision(message: MessageV2): Promise<void> {
    const replyTo = message.routing.replyTo
    if (replyTo === undefined) return
    const request = await this.#store.status({ messageId: replyTo, now: this.#clock.now() })
    if (request !== undefined) assertApprovalDecision(request.message, message)
  }

  /** Queues `prepared` for the next group commit, which starts after the promise callbacks queued now. */
  #storeTogether(prepared: PreparedSend): Promise<InsertResult> {
    return new Promise((resolve, reject) => {
      let group = this.#queuedSends
      if (group === undefined) {
        const fresh: SendGroup = { sends: [], started: false }
        this.#queuedSends = group = fresh
        queueMicrotask(() => this.#startGroupCommit(fresh))
      }
      group.sends.push({ prepared, resolve, reject })
      if (group.sends.length >= GROUP_COMMIT_MAX_SENDS) this.#queuedSends = undefined
    })
  }

  #startGroupCommit(group: SendGroup): void {
    if (group.started) return
    group.started = true
    if (this.#queuedSends === group) this.#queuedSends = undefined
    const commit = this.#groupCommit(group.sends).finally(() => this.#groupCommits.delete(commit))
    this.#groupCommits.add(commit)
  }

  /** Stores the queued sends in one transaction, or, if that fails, each in its own. Never rejects. */
  async #groupCommit(queue: QueuedSend[]): Promise<void> {
    if (queue.length > 1) {
      try {
        const outcome = await this.#store.insertMessages({
          sends: queue.map((q) => q.prepared),
          now: this.#clock.now(),
        })
        if (outcome.ok) {
          this.#settleStored(queue, outcome.results)
          return
        }
      } catch {
        // Retried one by one below, where each send gets its own outcome or error.
      }
    }
    for (const queued of queue) {
      try {
        const outcome = await this.#store.insertMessages({ sends: [queued.prepared], now: this.#clock.now() })
        if (outcome.ok) this.#settleStored([queued], outcome.results)
        else queued.reject(otherSendersId(queued.prepared.message))
      } catch (error) {
        queued.reject(error)
      }
    }
  }

  #settleStored(queue: QueuedSend[], results: InsertResult[]): void {
    if (results.some((r) => r.deliveries > 0)) this.#notify()
    for (let i = 0; i < queue.length; i++) queue[i]!.resolve(results[i]!)
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
    const prepared: PreparedSend[] = new Array(items.length)
    // One clock reading for the whole batch (its messages are sent at once): timestamps, delays and key
    // windows all count from it, and each message's expiry is derived from it rather than re-parsed.
    let at = this.#at(this.#clock.now())
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      // Validating a message costs about as much as writing a few deliveries: a chunked batch yields
      // during validation too, so no stretch of it holds the event loop longer than a chunk does.
      if (batch.chunkDeliveries !== undefined && i > 0 && i % PREPARE_CHUNK === 0) {
        await yieldToEventLoop()
        at = this.#at(this.#clock.now())
      }
      try {
        prepared[i] = this.#prepareSend(item.message, item.options ?? NO_SEND_OPTIONS, at)
      } catch (error) {
        if (error instanceof ValidationError) {
          throw new ValidationError(`Batch item ${i}: ${error.message}`, error.issues)
        }
        throw error
      }
    }
    for (const [i, p] of prepared.entries()) {
      if (!answersApproval(p.message)) continue
      try {
        await this.#checkDecision(p.message)
      } catch (error) {
        if (error instanceof ValidationError)
          throw new ValidationError(`Batch item ${i}: ${error.message}`, error.issues)
        throw error
      }
    }
    this.#open()
    const chunks = chunkByDeliveries(prepared, batch.chunkDeliveries)
    if (chunks.length > 1) {
      // Every id is checked before the first chunk is written: a later chunk refused for another sender's
      // id would leave the earlier ones stored. One read per message: yield now and then, as validation does.
      for (const [i, p] of prepared.entries()) {
        if (i > 0 && i % PREPARE_CHUNK === 0) await yieldToEventLoop()
        const stored = await this.#store.status({ messageId: p.message.id, now: this.#clock.now() })
        if (stored !== undefined && stored.message.fromAgent !== p.message.fromAgent)
          throw otherSendersId(p.message)
      }
    }
    const results: SendResult[] = []
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) {
        await yieldToEventLoop()
        this.#open()
      }
      const outcome = await this.#store.insertMessages({ sends: chunk, now: this.#clock.now() })
      if (!outcome.ok) throw otherSendersId(chunk[outcome.foreignIdAt]!.message)
      let queued = false
      for (let j = 0; j < outcome.results.length; j++) {
        const result = outcome.results[j]!
        if (result.deliveries > 0) queued = true
        // A new message's result needs no read: built here, without a promise per message.
        results.push(
          result.duplicate ? await this.#sendResult(chunk[j]!, result) : newSendResult(chunk[j]!, result),
        )
      }
      if (queued) this.#notify()
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
    const prepared = this.#prepareSend(input, { recipients: [], maxAttempts: options.maxAttempts })
    const { message } = prepared
    const heldUntil = expiresAt(message)
    const { foreignId } = await this.#store.holdMessage({ send: prepared, heldUntil, now: this.#clock.now() })
    if (foreignId) throw otherSendersId(message)
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
    const released = await this.#store.releaseHeld({
      agentId: agent,
      capabilities,
      now: this.#clock.now(),
      defaultMaxAttempts: this.#maxAttempts,
    })
    if (released > 0) this.#notify()
    return { released }
  }

  /**
   * Leases up to `limit` claimable messages of `agent`: most urgent first, then oldest. Each comes with a
   * receipt proving this claim. Two claimers never get the same delivery while its lease is live.
   */
  async claim(agent: string, options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const params = this.#claimParams(recipient, options)
    const claimed = this.#claimed(recipient, params.leaseUntil, await this.#store.claim(params))
    if (claimed.length > 0) this.#changes.fire()
    return claimed
  }

  /**
   * Settle-and-claim: acks `acks` (as `ackBatch`) and claims for `agent` (as `claim`) in one transaction, so
   * a consumer that settles what it handled and leases what comes next pays one commit, not two. Fails as
   * a whole, claiming nothing, if any ack is refused (the same errors as `ack`).
   */
  async ackAndClaim(
    acks: ReadonlyArray<{ messageId: string; agent: string; receipt?: string }>,
    agent: string,
    options: ClaimOptions = {},
  ): Promise<ClaimedMessage[]> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const claim = this.#claimParams(recipient, options)
    const outcome = await this.#store.ackAndClaim({
      acks: {
        items: acks.map(({ messageId, agent, receipt }) => ({
          messageId,
          recipient: agent,
          receipt: receipt ?? null,
        })),
        now: claim.now,
      },
      claim,
    })
    if (!outcome.ok) {
      const { messageId, agent, receipt } = acks[outcome.refusedAt]!
      const state = this.#requireDelivery(outcome.state, messageId, agent)
      throw this.#notLeased(messageId, agent, state.status, receipt ?? null)
    }
    return this.#claimed(recipient, claim.leaseUntil, outcome)
  }

  #claimParams(recipient: string, options: ClaimOptions): ClaimParams<MessageV2> {
    const { limit, leaseSeconds } = parseOrThrow(ClaimOptionsSchema, options, 'claim options')
    return { ...this.#lease(recipient, leaseSeconds), limit }
  }

  /** A claim's lease: from now for `leaseSeconds` (the spool's default when unset), with a fresh receipt. */
  #lease(recipient: string, leaseSeconds: number | undefined): Omit<ClaimParams<MessageV2>, 'limit'> {
    const now = this.#clock.now()
    return {
      recipient,
      now,
      leaseUntil: now + Math.round((leaseSeconds ?? this.#leaseSeconds) * 1000),
      receipt: this.#random.hex(12),
      decode: decodeClaimed,
    }
  }

  #claimed(
    recipient: string,
    leaseUntil: number,
    { claimed, deadLettered }: ClaimOutcome<MessageV2>,
  ): ClaimedMessage[] {
    // Reported once the transaction is done: a logger is never called with the write lock held.
    for (const { messageId, reason } of deadLettered) {
      this.#logger.warn(
        { messageId, agent: recipient, reason },
        `${reason}. Its delivery to ${recipient} was dead-lettered: it is listed by listFailed (agent-comm failed); fix or delete the row, then retry it.`,
      )
    }
    const leaseUntilIso = new Date(leaseUntil).toISOString()
    const messages: ClaimedMessage[] = new Array(claimed.length)
    for (let i = 0; i < claimed.length; i++) {
      const c = claimed[i]!
      messages[i] = {
        message: c.value,
        lease: {
          recipient,
          attempt: c.attempt,
          maxAttempts: c.maxAttempts,
          leaseUntil: leaseUntilIso,
          receipt: c.receipt,
        },
      }
    }
    return messages
  }

  /**
   * Leases, for `agent`, the oldest claimable reply to `requestId` — a message with `routing.replyTo` equal
   * to it, delivered to `agent` — and nothing else: the agent's other messages, replies to its other
   * requests included, stay where they are. With `from`, only a reply sent by one of those agents (the
   * request's recipients): another agent's message with the same `replyTo` stays in the inbox. Undefined
   * when no reply is waiting. Ack it as any claim.
   */
  async claimReply(
    agent: string,
    requestId: string,
    options: ClaimReplyOptions = {},
  ): Promise<ClaimedMessage | undefined> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const replyTo = parseOrThrow(MessageIdSchema, requestId, 'request id')
    const { leaseSeconds, from } = parseOrThrow(ClaimReplyOptionsSchema, options, 'reply claim options')
    return this.#claimOne(recipient, { leaseSeconds }, (lease) =>
      this.#store.claimReply({ ...lease, replyTo, from }),
    )
  }

  /**
   * Leases, for `agent`, its delivery of the message `messageId` — and nothing else, whatever its place in
   * claim order (a person opening one message of an inbox). Undefined when that delivery is not claimable
   * (missing, already leased, done, failed, expired or not yet due). Ack it as any claim.
   */
  async claimMessage(
    agent: string,
    messageId: string,
    options: { leaseSeconds?: number } = {},
  ): Promise<ClaimedMessage | undefined> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const id = parseOrThrow(MessageIdSchema, messageId, 'message id')
    return this.#claimOne(recipient, options, (lease) =>
      this.#store.claimMessage({ ...lease, messageId: id }),
    )
  }

  /**
   * A claim of at most one delivery (`claimReply`, `claimMessage`): runs the store's `claim` with a lease
   * for `options.leaseSeconds`, and reports what it dead-lettered and what it leased as `claim` does.
   */
  async #claimOne(
    recipient: string,
    options: { leaseSeconds?: number },
    claim: (lease: Omit<ClaimParams<MessageV2>, 'limit'>) => Promise<ClaimOutcome<MessageV2>>,
  ): Promise<ClaimedMessage | undefined> {
    const { leaseSeconds } = parseOrThrow(ClaimOptionsSchema, options, 'claim options')
    const lease = this.#lease(recipient, leaseSeconds)
    const [claimed] = this.#claimed(recipient, lease.leaseUntil, await claim(lease))
    if (claimed === undefined) return undefined
    this.#changes.fire()
    return claimed
  }

  /**
   * Resolves `true` as soon as `agent` has a claimable reply to `requestId` (including one another process
   * committed), `false` on timeout or abort. Other messages of `agent` do not wake it. It does not claim:
   * call {@link claimReply} next.
   */
  async waitForReply(
    agent: string,
    requestId: string,
    options: WaitOptions & { from?: readonly string[] } = {},
  ): Promise<boolean> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const replyTo = parseOrThrow(MessageIdSchema, requestId, 'request id')
    const { from, ...wait } = options
    const { timeoutMs, signal } = parseOrThrow(WaitOptionsSchema, wait, 'wait options')
    const senders = from === undefined ? null : parseOrThrow(ReplySendersSchema, from, 'reply senders')
    return this.#replyWatcher.wait(JSON.stringify([recipient, replyTo, senders]), timeoutMs, signal)
  }

  /**
   * Marks the delivery of `messageId` to `agent` done. With the receipt from its claim, an ack from a
   * consumer whose lease ran out and was claimed again is refused with `LeaseLostError`. Acking twice is
   * a harmless no-op reported as `alreadyAcked`.
   */
  async ack(messageId: string, agent: string, options: AckOptions = {}): Promise<AckResult> {
    this.#open()
    // Most acks carry a receipt the spool minted; one a caller made up with NUL (which PostgreSQL's text
    // cannot hold) is refused here, without a schema on this hot path.
    const receipt = options.receipt ?? null
    if (receipt !== null) assertNoNul(receipt, 'receipt')
    const outcome = await this.#store.ack({ messageId, recipient: agent, receipt, now: this.#clock.now() })
    if (outcome.changed) this.#changes.fire()
    if (outcome.changed) return { messageId, recipient: agent, status: 'acked', alreadyAcked: false }
    const state = this.#requireDelivery(outcome.state, messageId, agent)
    if (state.status === 'acked') return { messageId, recipient: agent, status: 'acked', alreadyAcked: true }
    throw this.#notLeased(messageId, agent, state.status, receipt)
  }

  /** Acks many deliveries in one transaction; fails as a whole if any ack is refused. */
  async ackBatch(
    items: ReadonlyArray<{ messageId: string; agent: string; receipt?: string }>,
  ): Promise<AckResult[]> {
    this.#open()
    const outcome = await this.#store.ackMany({
      items: items.map(({ messageId, agent, receipt }, i) => {
        if (receipt !== undefined) assertNoNul(receipt, `receipt of item ${i}`)
        return { messageId, recipient: agent, receipt: receipt ?? null }
      }),
      now: this.#clock.now(),
    })
    if (!outcome.ok) {
      const { messageId, agent, receipt } = items[outcome.refusedAt]!
      const state = this.#requireDelivery(outcome.state, messageId, agent)
      throw this.#notLeased(messageId, agent, state.status, receipt ?? null)
    }
    this.#changes.fire()
    return items.map(({ messageId, agent }, i) => ({
      messageId,
      recipient: agent,
      status: 'acked',
      alreadyAcked: outcome.alreadyAcked[i]!,
    }))
  }

  /**
   * Gives a leased message back: it is queued again (visible after the delay) or, when its attempts are
   * used up or `deadLetter` is set, dead-lettered as `failed` with the reason. With `handBack` (the consumer
   * never began on it) the claim's attempt is given back and it is visible again at once. Only a leased
   * delivery can be nacked: an acked message is never resurrected.
   */
  async nack(messageId: string, agent: string, options: NackOptions = {}): Promise<NackResult> {
    this.#open()
    const { reason, receipt, delaySeconds, deadLetter, handBack } = parseOrThrow(
      NackOptionsSchema,
      options,
      'nack options',
    )
    const now = this.#clock.now()
    const outcome = await this.#store.release({
      messageId,
      recipient: agent,
      receipt: receipt ?? null,
      reason: reason ?? 'nacked',
      deadLetter: deadLetter === true,
      handBack: handBack === true,
      now,
      availableAt: (attempt) =>
        handBack === true ? now : now + Math.round((delaySeconds ?? this.#retryDelaySeconds(attempt)) * 1000),
    })
    if (!outcome.changed) {
      const found = this.#requireDelivery(outcome.state, messageId, agent)
      if (found.status === 'acked') {
        throw new InvalidStateError(
          `Message '${messageId}' was already acked by '${agent}'; a nack cannot bring it back`,
          { details: { messageId, agentId: agent, status: found.status } },
        )
      }
      throw this.#notLeased(messageId, agent, found.status, receipt ?? null)
    }
    if (outcome.status === 'queued') this.#notify()
    return {
      messageId,
      recipient: agent,
      status: outcome.status,
      attempt: outcome.attempt,
      maxAttempts: outcome.maxAttempts,
      ...(outcome.status === 'queued' ? { availableAt: new Date(outcome.availableAt).toISOString() } : {}),
    }
  }

  /**
   * Takes a message back from `agent` before it is done with it (its sender's side gave it up): a queued
   * or leased delivery becomes `failed` with `reason`, so no claim gets it any more and the ack of a
   * consumer still holding it is refused. It is settled, not a dead letter: `listFailed` leaves it out
   * and `retryFailed` refuses it (its `ackedAt` is when it was withdrawn). `false` when there was nothing to take back (already acked or
   * failed); an unknown message or recipient is refused as `ack` refuses it.
   */
  async withdraw(messageId: string, agent: string, options: { reason: string }): Promise<boolean> {
    this.#open()
    const outcome = await this.#store.withdraw({
      messageId,
      recipient: agent,
      reason: options.reason,
      now: this.#clock.now(),
    })
    if (outcome.changed) return true
    this.#requireDelivery(outcome.state, messageId, agent)
    return false
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
    const outcome = await this.#store.extendLease({
      messageId,
      recipient: agent,
      receipt: receipt ?? null,
      leaseUntil: now + Math.round((leaseSeconds ?? this.#leaseSeconds) * 1000),
      now,
    })
    if (!outcome.changed) {
      const found = this.#requireDelivery(outcome.state, messageId, agent)
      throw this.#notLeased(messageId, agent, found.status, receipt ?? null)
    }
    return { messageId, recipient: agent, leaseUntil: new Date(outcome.leaseUntil).toISOString() }
  }

  /**
   * Resolves `true` at the next write to the spool's storage — a send, claim, ack, nack or retry of this
   * spool, or a commit another process made that the store's change feed reports — and `false` after
   * `timeoutMs` or on abort. A hint to read again (a live view's refresh), not a diff: keep a slow poll
   * beside it, since delays and leases run out without any write.
   */
  async waitForChange(options: WaitOptions = {}): Promise<boolean> {
    this.#open()
    const { timeoutMs, signal } = parseOrThrow(WaitOptionsSchema, options, 'wait options')
    return this.#changes.wait(timeoutMs, signal)
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
    const now = this.#clock.now()
    await this.#store.sweepExhaustedLeases({ now })
    const found = await this.#store.status({ messageId, now })
    if (found === undefined) throw new MessageNotFoundError(messageId)
    return found
  }

  /**
   * Every message of a conversation, oldest first. With `visibleTo`, only the messages that agent may see:
   * those it sent, those addressed to it and those delivered to it (a broadcast or capability message).
   */
  async conversation(conversationId: string, options: { visibleTo?: string } = {}): Promise<MessageV2[]> {
    this.#open()
    const id = parseOrThrow(ConversationIdSchema, conversationId, 'conversation id')
    if (options.visibleTo === undefined) return this.#store.conversation({ conversationId: id })
    const visibleTo = parseOrThrow(AgentIdSchema, options.visibleTo, 'visibleTo agent id')
    return this.#store.conversation({ conversationId: id, visibleTo })
  }

  /**
   * Threads, most recently active first (`limit` 50, at most 1000). With `agent`, only threads it sent or
   * was addressed a message in. With `visibleTo`, only the messages that agent may see count (as in
   * `conversation`): threads without one are left out, and subject, participants, count and times are
   * computed over those messages alone, so a summary reveals nothing its reader could not list.
   */
  async conversations(
    options: { limit?: number; agent?: string; visibleTo?: string } = {},
  ): Promise<ConversationSummary[]> {
    this.#open()
    const limit = Math.min(Math.max(Math.floor(options.limit ?? DEFAULT_LIST_LIMIT), 1), MAX_LIST_LIMIT)
    const visibleTo =
      options.visibleTo === undefined
        ? undefined
        : parseOrThrow(AgentIdSchema, options.visibleTo, 'visibleTo agent id')
    return this.#store.conversations({ limit, agent: options.agent, visibleTo })
  }

  /** Messages matching every given filter, newest first; `text` searches subject and body. */
  async search(query: SearchQuery = {}): Promise<MessageV2[]> {
    this.#open()
    const { since, visibleTo, ...parsed } = parseOrThrow(SearchQuerySchema, query, 'search query')
    const params =
      since === undefined
        ? parsed
        : {
            ...parsed,
            since:
              since instanceof Date ? since.getTime() : typeof since === 'string' ? Date.parse(since) : since,
          }
    if (visibleTo === undefined) return this.#store.search(params)
    // What the agent sent, and what was addressed or delivered to it (`to` covers both): each half only
    // when the query's own `from` / `to` leaves room for it, merged newest first.
    const [sent, received] = await Promise.all([
      params.from === undefined || params.from === visibleTo
        ? this.#store.search({ ...params, from: visibleTo })
        : [],
      params.to === undefined || params.to === visibleTo
        ? this.#store.search({ ...params, to: visibleTo })
        : [],
    ])
    const byId = new Map([...sent, ...received].map((m) => [m.id, m]))
    return [...byId.values()].sort((a, b) => b.timestamp.localeCompare(a.timestamp)).slice(0, params.limit)
  }

  /** Counts by status, queue ages, failure rate and per-agent depth. */
  async stats(): Promise<SpoolStats> {
    this.#open()
    const now = this.#clock.now()
    await this.#store.sweepExhaustedLeases({ now })
    return this.#store.stats({ now })
  }

  /**
   * The messages waiting for `agent` — queued (due or delayed) or leased, not expired — with their
   * deliveries, in the order claims hand them out (most urgent first, then oldest) or, with
   * `newestFirst`, most urgent first, then newest (a person's inbox: what came last is on the first page);
   * at most `limit` (50, up to 1000). A peek: nothing is claimed or changed.
   */
  async pending(
    agent: string,
    options: { limit?: number; newestFirst?: boolean } = {},
  ): Promise<PendingDelivery[]> {
    this.#open()
    const recipient = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const { limit, newestFirst } = parseOrThrow(PendingOptionsSchema, options, 'pending options')
    const now = this.#clock.now()
    await this.#store.sweepExhaustedLeases({ now })
    return this.#store.pending({ recipient, limit, now, newestFirst })
  }

  /** Dead-lettered deliveries, newest first: at most `limit` (50, up to 1000). */
  async listFailed(options: { agent?: string; limit?: number } = {}): Promise<FailedDelivery[]> {
    this.#open()
    const now = this.#clock.now()
    const limit = Math.min(Math.max(Math.floor(options.limit ?? DEFAULT_LIST_LIMIT), 1), MAX_LIST_LIMIT)
    await this.#store.sweepExhaustedLeases({ now })
    return this.#store.listFailed(
      options.agent === undefined ? { limit, now } : { agent: options.agent, limit, now },
    )
  }

  /** Requeues dead-lettered deliveries of a message (for one agent, or all) with fresh attempts. */
  async retryFailed(messageId: string, agent?: string): Promise<{ requeued: number }> {
    this.#open()
    const now = this.#clock.now()
    await this.#store.sweepExhaustedLeases({ now })
    const outcome = await this.#store.requeueFailed(
      agent === undefined ? { messageId, now } : { messageId, recipient: agent, now },
    )
    if (outcome.requeued === 0) {
      if (outcome.withdrawn > 0) {
        // Its sender gave it up (a canceled A2A task): handing it back to the agent would resurrect it.
        throw new InvalidStateError(
          `Message '${messageId}'${agent === undefined ? '' : ` for '${agent}'`} was withdrawn by its sender (its lastError says why, e.g. a canceled A2A task): it is settled and is not retried; send a new message if the work is still wanted`,
          {
            details: {
              messageId,
              ...(agent === undefined ? {} : { agentId: agent }),
              withdrawn: outcome.withdrawn,
            },
          },
        )
      }
      // What a person can do next: find the dead letters, or see where this message stands.
      const hint = `Only dead letters can be retried: agent-comm failed lists them; agent-comm status ${messageId} shows this message's deliveries.`
      if (agent === undefined) {
        if (!outcome.messageExists) throw new MessageNotFoundError(messageId)
        throw new InvalidStateError(`Message '${messageId}' has no failed deliveries to retry`, { hint })
      }
      const state = this.#requireDelivery(outcome.state, messageId, agent)
      throw new InvalidStateError(
        `Message '${messageId}' for '${agent}' is ${state.status}, not failed; only failed deliveries can be retried`,
        { hint },
      )
    }
    this.#notify()
    return { requeued: outcome.requeued }
  }

  /** Runs the store's integrity checks (SQLite: `PRAGMA integrity_check`) and the spool's invariant checks. */
  async verify(): Promise<VerifyReport> {
    this.#open()
    return this.#store.verify()
  }

  /**
   * Removes expired messages (and, if asked, long-acked ones), `CLEANUP_BATCH` a transaction until none is
   * left (or `control.signal` aborts between two), or with `dryRun` only counts them; with `limit`, removes
   * at most that many in one transaction.
   */
  async cleanup(
    options: CleanupOptions = {},
    control: { signal?: AbortSignal } = {},
  ): Promise<CleanupReport> {
    this.#open()
    const parsed = parseOrThrow(CleanupOptionsSchema, options, 'cleanup options')
    const now = this.#clock.now()
    // A dry run counts in one read; a caller's own `limit` is one bounded transaction.
    if (parsed.dryRun || parsed.limit !== undefined) return this.#store.cleanup({ ...parsed, now })
    // Everything, CLEANUP_BATCH messages a transaction, oldest first, all against the same `now`, yielding
    // in between; stopped early by `signal` or a close (what is left goes on the next cleanup).
    const total: CleanupReport = { dryRun: false, expiredMessages: 0, ackedMessages: 0, deliveries: 0 }
    for (;;) {
      const report = await this.#store.cleanup({ ...parsed, limit: CLEANUP_BATCH, now })
      total.expiredMessages += report.expiredMessages
      total.ackedMessages += report.ackedMessages
      total.deliveries += report.deliveries
      if (report.expiredMessages + report.ackedMessages < CLEANUP_BATCH) return total
      await yieldToEventLoop()
      if (control.signal?.aborted || this.#closed) return total
    }
  }

  /** Closes the store; pending waits resolve `false`. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Sends accepted before the close are stored (or fail) first.
    if (this.#queuedSends !== undefined) this.#startGroupCommit(this.#queuedSends)
    await Promise.all(this.#groupCommits)
    this.#watcher.close()
    this.#replyWatcher.close()
    this.#changes.close()
    await this.#store.close()
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This spool')
  }

  /** Wakes this process's waiters after a commit that may have made a delivery claimable. */
  #notify(): void {
    this.#watcher.notify()
    this.#replyWatcher.notify()
    this.#changes.fire()
  }

  /**
   * The result of one stored send. A duplicate by key reports the message the key stored; a duplicate by
   * id must repeat the stored content (else `ConflictError`: the new content was not delivered).
   */
  async #sendResult(prepared: PreparedSend, result: InsertResult): Promise<SendResult> {
    const { message, recipients } = prepared
    if (!result.duplicate) return newSendResult(prepared, result)
    const id = result.originalId ?? message.id
    const stored = await this.#store.status({ messageId: id, now: this.#clock.now() })
    if (result.originalId === undefined) {
      if (
        stored !== undefined &&
        !(sameContent(stored.message, message) && sameThread(stored.message, message))
      )
        throw changedContent(message)
      return { messageId: id, duplicate: true, deliveries: 0, recipients, message }
    }
    if (stored !== undefined && !sameContent(stored.message, message))
      throw changedKeyedContent(message, prepared.idempotency!.key, id)
    // The original may have been cleaned up while its key still holds: the retry is still a duplicate (there
    // is nothing left to compare it with).
    return {
      messageId: id,
      duplicate: true,
      deliveries: 0,
      recipients: stored === undefined ? recipients : stored.deliveries.map((d) => d.recipient),
      message: stored?.message ?? message,
    }
  }

  /** One clock reading as {@link SendMoment}: a batch prepares every message against one. */
  #at(now: number): SendMoment {
    return { now, clock: { now: () => now }, ids: this.#ids }
  }

  #prepareSend(
    input: MessageV2 | MessageInput,
    options: SendOptions,
    at: SendMoment = this.#at(this.#clock.now()),
  ): PreparedSend {
    const created = !('version' in input)
    const message = created ? createMessage(input, at) : parseMessage(input)
    const notTheDecider = decidedBySenderProblem(message)
    if (notTheDecider !== undefined) {
      throw new ForbiddenError(`Refused: ${notTheDecider}`, {
        hint: 'Set decidedBy to the sending agent: a person decides in the console, which sends the decision as them.',
        details: { messageId: message.id, fromAgent: message.fromAgent },
      })
    }
    assertTraceMetadata(message.metadata)
    // Most sends pass no options: skip validating an empty object on this hot path.
    const opts =
      options === NO_SEND_OPTIONS || isEmpty(options)
        ? NO_SEND_OPTIONS
        : parseOrThrow(SendOptionsSchema, options, 'send options')
    // A UTF-16 code unit is at most 3 UTF-8 bytes: a body that short needs no count.
    if (message.body.length * 3 > this.#maxBodyBytes && utf8Length(message.body) > this.#maxBodyBytes) {
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
    const { now } = at
    const notBefore = opts.notBefore instanceof Date ? opts.notBefore.getTime() : opts.notBefore
    const prepared: PreparedSend = {
      message,
      recipients,
      availableAt:
        opts.delaySeconds === undefined && notBefore === undefined
          ? now
          : Math.max(notBefore ?? 0, now + Math.round((opts.delaySeconds ?? 0) * 1000)),
      maxAttempts: opts.maxAttempts ?? this.#maxAttempts,
      // A timestamp createMessage wrote is `now` to the millisecond: no need to parse it back.
      expiresAt:
        created && (input as MessageInput).timestamp === undefined
          ? now + Math.round(message.routing.ttlHours * 3_600_000)
          : expiresAt(message),
    }
    if (opts.idempotencyKey !== undefined)
      prepared.idempotency = { key: opts.idempotencyKey, expiresAt: now + this.#idempotencyWindowMs }
    return prepared
  }

  /** The state a store reported, or `DeliveryNotFoundError` when there is none. */
  #requireDelivery(state: DeliveryState | null, messageId: string, agent: string): DeliveryState {
    if (state !== null) return state
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
