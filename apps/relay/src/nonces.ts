import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Clock, Logger } from '@agent-comm/protocol'
import { ClosedError, errorMessage, silentLogger, systemClock } from '@agent-comm/protocol'
import { applyMigrations, type SharedStoreOpener, toStorageError } from '@agent-comm/spool'
import type BetterSqlite3 from 'better-sqlite3'

/** Folder of the relay's drizzle-kit migrations (shipped beside `dist/`). */
export const RELAY_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../drizzle')

/** Table recording which relay migrations a database has; separate from the spool's and the registry's. */
export const RELAY_MIGRATIONS_TABLE = '__agent_comm_relay_migrations'

/**
 * Where the relay remembers the nonces of authenticated requests, to refuse replays. Every method may answer
 * synchronously (the SQLite store, on the relay's own file) or with a promise (a store on a database server,
 * shared by a relay's replicas); the relay awaits each answer.
 */
export interface NonceStore {
  /**
   * Records the nonce of `agentId`'s request signed at `timestamp` (ms since the epoch). Returns false — and
   * records nothing — when it was already recorded: the request is a replay. The check and the record must
   * be one atomic step for every caller of the store (a unique key, not a read then a write).
   */
  remember(agentId: string, nonce: string, timestamp: number): boolean | Promise<boolean>
  /** Forgets nonces of requests signed before `before` (ms since the epoch); returns how many. */
  prune(before: number): number | Promise<number>
  /**
   * Resolves once every nonce remembered so far is durable, rejecting if writing it failed. The relay waits
   * for it before handling a request, so no request has an effect that a crash could let be replayed.
   * A store whose `remember` is durable when it answers may leave it out.
   */
  whenDurable?(): Promise<void>
  /** Makes every remembered nonce durable now (called when the relay closes). */
  flush(): void | Promise<void>
  /** Flushes and releases what the store holds; a connection it was given stays open for its owner. */
  close(): void | Promise<void>
}

/** Options of {@link SqliteNonceStore}. */
export interface SqliteNonceStoreOptions {
  clock?: Clock
  /**
   * The relay's auth window in ms (300 000). A nonce is kept until its timestamp is further in the past
   * than the widest window this database has ever been opened with (recorded in `relay_state`).
   */
  windowMs?: number
  /** How often, in clock time, expired nonces are deleted, in ms (60 000). */
  pruneIntervalMs?: number
  /** Told when a batch of nonces could not be written (it is retried with the next batch). */
  logger?: Logger
}

/**
 * Nonces in the relay's SQLite database (usually the spool's file), so a restart does not reopen the replay
 * window.
 *
 * Writes are group-committed: a new nonce is checked against the batch not yet written (in memory), then
 * joins the batch, which one transaction writes at the end of the current event-loop turn with `INSERT OR
 * IGNORE`; the primary key is the check against the table (a row that was already there inserts nothing,
 * and that request is a replay), so no read precedes the write. A busy relay pays one commit for every
 * request that arrived in the same turn rather than one each, and the check-then-record is atomic because
 * everything here runs on the one JavaScript thread. `remember` answers once its nonce is written, so the
 * relay handles a request only when a crash can no longer reopen its replay. A batch whose write failed
 * stays in memory (still refusing replays inside this process) and goes with the next one; `close()` writes it.
 */
export class SqliteNonceStore implements NonceStore {
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #pruneIntervalMs: number
  /** How long nonces are kept: the widest auth window this database has been served with, this one included. */
  readonly #retentionMs: number
  readonly #sqlite: BetterSqlite3.Database
  readonly #insert: BetterSqlite3.Statement
  readonly #delete: BetterSqlite3.Statement
  /** Writes a batch; for each row, whether it was new (false: the table had it, a replay). */
  readonly #writeBatch: BetterSqlite3.Transaction<(rows: PendingNonce[]) => boolean[]>
  /** Nonces accepted but not yet written, by `timestamp \n agent \n nonce`. */
  #pending = new Map<string, PendingNonce>()
  #flushScheduled: NodeJS.Immediate | undefined
  #lastPrune = Number.NEGATIVE_INFINITY
  #closed = false

  private constructor(sqlite: BetterSqlite3.Database, options: SqliteNonceStoreOptions) {
    this.#sqlite = sqlite
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 60_000
    this.#retentionMs = widestWindow(sqlite, options.windowMs ?? 300_000)
    this.#insert = sqlite.prepare(
      'INSERT OR IGNORE INTO relay_nonces (timestamp, agent_id, nonce) VALUES (?, ?, ?)',
    )
    this.#delete = sqlite.prepare('DELETE FROM relay_nonces WHERE timestamp < ?')
    this.#writeBatch = sqlite.transaction((rows: PendingNonce[]) =>
      rows.map((row) => this.#insert.run(row.timestamp, row.agentId, row.nonce).changes > 0),
    )
  }

  /**
   * Creates the relay's tables on `sqlite` (an open connection the caller keeps owning) and prunes what
   * expired while the relay was down. In a spool's file: `spool.openShared(SqliteNonceStore.shared(options))`.
   */
  static open(sqlite: BetterSqlite3.Database, options: SqliteNonceStoreOptions = {}): SqliteNonceStore {
    try {
      applyMigrations(sqlite, {
        folder: RELAY_MIGRATIONS_FOLDER,
        table: RELAY_MIGRATIONS_TABLE,
        name: 'relay',
      })
    } catch (error) {
      throw toStorageError(error, sqlite.name)
    }
    const store = new SqliteNonceStore(sqlite, options)
    store.#pruneExpired(store.#clock.now())
    return store
  }
  /**
   * The opener of the store in a spool's SQLite file, on its connection (the spool keeps owning it):
   * `spool.openShared(SqliteNonceStore.shared(options))`, as the relay's bootstrap does.
   */
  static shared(options: SqliteNonceStoreOptions = {}): SharedStoreOpener<SqliteNonceStore> {
    return { name: "the relay's nonce store", sqlite: (sqlite) => SqliteNonceStore.open(sqlite, options) }
  }

  /**
   * False at once for a nonce of the batch not yet written; otherwise answers when the batch is written:
   * true for a new nonce, false for one the table already had. Rejects when the batch cannot be written.
   */
  remember(agentId: string, nonce: string, timestamp: number): boolean | Promise<boolean> {
    // Its owner closed the database: a storage failure of this request (500), as a read of the table would be.
    if (!this.#sqlite.open)
      throw toStorageError(new Error('The database connection is not open'), this.#sqlite.name)
    const key = `${timestamp}\n${agentId}\n${nonce}`
    if (this.#pending.has(key)) return false
    const row: PendingNonce = { key, timestamp, agentId, nonce, answer: undefined }
    const answer = new Promise<boolean>((resolve, reject) => {
      row.answer = { resolve, reject }
    })
    this.#pending.set(key, row)
    this.#flushScheduled ??= setImmediate(() => {
      this.#flushScheduled = undefined
      this.#flushSafely()
    })
    return answer
  }

  prune(before: number): number {
    try {
      return this.#delete.run(before).changes
    } catch (error) {
      throw toStorageError(error, this.#sqlite.name)
    }
  }

  flush(): void {
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled)
    this.#flushScheduled = undefined
    if (!this.#sqlite.open) {
      // Its owner closed the database under us: nothing can be made durable, so nobody may proceed.
      this.#answerPending((answer) => answer.reject(new ClosedError('The relay database')))
      return
    }
    if (this.#pending.size > 0) {
      const rows = [...this.#pending.values()]
      let inserted: boolean[]
      try {
        inserted = this.#writeBatch.immediate(rows)
      } catch (error) {
        const failure = toStorageError(error, this.#sqlite.name)
        // The nonces stay pending (still refusing replays) and go with the next batch; the requests that
        // waited for them fail instead of running without a durable nonce.
        this.#answerPending((answer) => answer.reject(failure))
        throw failure
      }
      // Only what was written leaves memory: a nonce accepted meanwhile stays pending.
      rows.forEach((row, i) => {
        this.#pending.delete(row.key)
        row.answer?.resolve(inserted[i] === true)
      })
    }
    const now = this.#clock.now()
    if (now - this.#lastPrune >= this.#pruneIntervalMs || now < this.#lastPrune) this.#pruneExpired(now)
  }

  /** Writes what is pending; the connection stays open for its owner. Safe to call twice. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.flush()
  }

  /**
   * Deletes the nonces whose timestamp left the widest window ever served: no request carrying them can pass
   * the time check, now or after the window is widened again. Pruning by the current window would reopen
   * replays when a narrowed window is widened back (their nonces would be gone while they pass again).
   */
  #pruneExpired(now: number): void {
    this.#lastPrune = now
    this.prune(now - this.#retentionMs)
  }

  /** Gives every request waiting on the pending batch its answer (once; the rows stay pending). */
  #answerPending(give: (answer: Answer) => void): void {
    for (const row of this.#pending.values()) {
      if (row.answer !== undefined) give(row.answer)
      row.answer = undefined
    }
  }

  #flushSafely(): void {
    try {
      this.flush()
    } catch (error) {
      // The batch stays in memory, still refusing replays, and is retried with the next one.
      this.#logger.error({ error: errorMessage(error) }, 'could not record nonces')
    }
  }
}

/** Records `windowMs` if it is the widest auth window served on `sqlite` so far; returns the widest. */
function widestWindow(sqlite: BetterSqlite3.Database, windowMs: number): number {
  try {
    sqlite
      .prepare(
        `INSERT INTO relay_state (key, value) VALUES ('nonce_retention_ms', @windowMs)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
      )
      .run({ windowMs })
    return sqlite
      .prepare("SELECT value FROM relay_state WHERE key = 'nonce_retention_ms'")
      .pluck()
      .get() as number
  } catch (error) {
    throw toStorageError(error, sqlite.name)
  }
}

/** How the request that remembered a nonce is told whether it was new. */
interface Answer {
  resolve(isNew: boolean): void
  reject(error: Error): void
}

/** A nonce accepted but not yet written, and who waits for it (nobody once it was answered with a failure). */
interface PendingNonce {
  key: string
  timestamp: number
  agentId: string
  nonce: string
  answer: Answer | undefined
}
