import { type Clock, errorMessage, type Logger, silentLogger, systemClock } from '@agent-comm/protocol'
import type { SqlClient } from '../client.js'
import { toStorageError } from '../drivers/driver-errors.js'

/**
 * How a nonce's commit is made durable: `relaxed` (the default) commits without waiting for the WAL flush
 * (`synchronous_commit = off` for that statement alone), `durable` waits for it as every other write does.
 * See {@link PostgresNonceStore} for what `relaxed` keeps and what it gives up.
 */
export type NonceCommit = 'relaxed' | 'durable'

/** Options of {@link PostgresNonceStore}. */
export interface PostgresNonceStoreOptions {
  client: SqlClient
  /** The schema holding `relay_nonces` (migrated: see `openPostgresRelayStores`). */
  schema: string
  /** The URL without its password, for errors. */
  location: string
  clock?: Clock
  /** The relay's auth window in ms (300 000); nonces are kept for the widest window ever served. */
  windowMs?: number
  /** How often, in clock time, expired nonces are swept, in ms (60 000). */
  pruneIntervalMs?: number
  /** `relaxed` (default) or `durable`: see {@link NonceCommit}. */
  commit?: NonceCommit
  logger?: Logger
}

/**
 * Most batches of nonces written at once. One is enough for a single client (nothing waits behind it);
 * a second lets a batch fill while the first is on the wire, without taking the small pool from the
 * secret store's reads.
 */
const MAX_IN_FLIGHT = 2

interface Pending {
  agentId: string
  nonce: string
  timestamp: number
  resolve(accepted: boolean): void
  reject(error: unknown): void
}

/**
 * The relay's nonces in PostgreSQL, shared by every replica. A nonce is recorded by an `INSERT … ON
 * CONFLICT DO NOTHING` on the (agent, nonce) key, so of two replicas given the same request at once exactly
 * one accepts it, and the row is visible to every replica when `remember` answers.
 *
 * Nonces of requests arriving together are written together: while a batch is on its way, new nonces queue
 * (a replay of a queued one is refused at once) and go as the next batch, one statement for all of them
 * (`unnest` of three arrays). A single client waits for nobody; sixteen pay one round trip between them.
 *
 * The commit is `relaxed` by default: the statement sets `synchronous_commit = off` for its own
 * transaction, so it answers without waiting for the WAL to reach the disk (a flush costs more than the
 * round trip: measured in the relay README). What that keeps: PostgreSQL writes its WAL in order and
 * recovers a prefix of it, and the request's own writes (a send, a claim, an ack) come after its nonce in
 * that order — so any effect of a request that survives a crash has its nonce survive too, and a request
 * can never take effect twice. What it gives up: after a crash of the PostgreSQL server (not a restart or
 * a replica's crash, which lose nothing) the nonces of the last fraction of a second may be gone, and with
 * them only requests whose effects are gone too, or that had none (reads, refused requests); one of those
 * replayed inside the auth window is answered again. This holds because nonces and the spool are in one
 * PostgreSQL cluster (the relay opens both from one URL). `durable` waits for the flush on every request.
 * Nonces whose timestamp left the widest auth window served on this database are swept by whichever
 * replica's turn it is.
 */
export class PostgresNonceStore {
  readonly #client: SqlClient
  readonly #location: string
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #pruneIntervalMs: number
  readonly #sql: { insert: string; prune: string }
  #retentionMs: number
  #lastPrune = Number.NEGATIVE_INFINITY
  #pruning: Promise<void> | undefined
  /** Nonces waiting for the next batch, by `agent \n nonce`. */
  #queued = new Map<string, Pending>()
  #inFlight = 0
  /** Settles when the batches on their way have been answered (for `close`). */
  #drained: Promise<void> = Promise.resolve()
  #markDrained: (() => void) | undefined

  private constructor(options: PostgresNonceStoreOptions, retentionMs: number) {
    this.#client = options.client
    this.#location = options.location
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 60_000
    this.#retentionMs = retentionMs
    const table = `"${options.schema}".relay_nonces`
    // The relaxed form sets the commit mode in a CTE joined to the rows, so it is set before the
    // statement's implicit transaction commits, and only for it (`set_config(…, true)` is local).
    const relaxed = (options.commit ?? 'relaxed') === 'relaxed'
    this.#sql = {
      insert: `${relaxed ? "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) " : ''}INSERT INTO ${table} (agent_id, nonce, timestamp)
        SELECT n.agent_id, n.nonce, n.timestamp FROM ${relaxed ? 'relaxed, ' : ''}unnest($1::text[], $2::text[], $3::bigint[]) AS n(agent_id, nonce, timestamp)
        ON CONFLICT DO NOTHING RETURNING agent_id AS "agentId", nonce`,
      prune: `DELETE FROM ${table} WHERE timestamp < $1`,
    }
  }

  /** Records this replica's auth window (the widest one served is kept) and sweeps what expired. */
  static async open(options: PostgresNonceStoreOptions): Promise<PostgresNonceStore> {
    const windowMs = options.windowMs ?? 300_000
    let retention: number
    try {
      const [row] = await options.client.query<{ value: number }>(
        `INSERT INTO "${options.schema}".relay_state (key, value) VALUES ('nonce_retention_ms', $1)
         ON CONFLICT (key) DO UPDATE SET value = greatest("${options.schema}".relay_state.value, EXCLUDED.value)
         RETURNING value`,
        [windowMs],
      )
      retention = Number(row?.value ?? windowMs)
    } catch (error) {
      throw toStorageError(error, options.location)
    }
    const store = new PostgresNonceStore(options, retention)
    await store.#sweep(store.#clock.now())
    return store
  }

  /**
   * True when the nonce was new (now recorded, refused by every replica from here on); false for a replay.
   * Rejects with a `StorageError` when PostgreSQL could not record it.
   */
  remember(agentId: string, nonce: string, timestamp: number): Promise<boolean> {
    const key = `${agentId}\n${nonce}`
    // The same nonce twice in one batch would be one row: the second is a replay of the first.
    if (this.#queued.has(key)) return Promise.resolve(false)
    const accepted = new Promise<boolean>((resolve, reject) => {
      this.#queued.set(key, { agentId, nonce, timestamp, resolve, reject })
    })
    if (this.#inFlight < MAX_IN_FLIGHT) this.#write()
    this.#maybeSweep()
    return accepted
  }

  /** Deletes nonces signed before `before` (ms); returns how many. */
  async prune(before: number): Promise<number> {
    try {
      const rows = await this.#client.query(`${this.#sql.prune} RETURNING 1 AS "n"`, [before])
      return rows.length
    } catch (error) {
      throw toStorageError(error, this.#location)
    }
  }

  /** Nothing to flush: `remember` answers once its nonce is written. */
  flush(): void {}

  /** Waits for the batches on their way and a sweep in progress; the client stays open for its owner. */
  async close(): Promise<void> {
    await this.#drained
    await this.#pruning
  }

  /** Sends every queued nonce as one statement; when it is answered, the next batch goes. */
  #write(): void {
    if (this.#queued.size === 0) return
    const batch = [...this.#queued.values()]
    this.#queued = new Map()
    if (this.#inFlight++ === 0) {
      this.#drained = new Promise((resolve) => {
        this.#markDrained = resolve
      })
    }
    this.#client
      .query<{ agentId: string; nonce: string }>(this.#sql.insert, [
        batch.map((p) => p.agentId),
        batch.map((p) => p.nonce),
        batch.map((p) => p.timestamp),
      ])
      .then(
        (rows) => {
          const inserted = new Set(rows.map((r) => `${r.agentId}\n${r.nonce}`))
          for (const p of batch) p.resolve(inserted.has(`${p.agentId}\n${p.nonce}`))
        },
        (error: unknown) => {
          const failure = toStorageError(error, this.#location)
          for (const p of batch) p.reject(failure)
        },
      )
      .finally(() => {
        if (--this.#inFlight === 0) this.#markDrained?.()
        this.#write()
      })
  }

  #maybeSweep(): void {
    const now = this.#clock.now()
    if (
      this.#pruning !== undefined ||
      (now - this.#lastPrune < this.#pruneIntervalMs && now >= this.#lastPrune)
    ) {
      return
    }
    this.#lastPrune = now
    this.#pruning = this.#sweep(now)
      .catch((error: unknown) => this.#logger.warn({ error: errorMessage(error) }, 'could not sweep nonces'))
      .finally(() => {
        this.#pruning = undefined
      })
  }

  async #sweep(now: number): Promise<void> {
    this.#lastPrune = now
    try {
      await this.#client.query(this.#sql.prune, [now - this.#retentionMs])
    } catch (error) {
      throw toStorageError(error, this.#location)
    }
  }
}
