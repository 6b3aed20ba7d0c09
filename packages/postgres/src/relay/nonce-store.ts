import { type Clock, type Logger, silentLogger, systemClock } from '@agent-comm/protocol'
import type { SqlClient } from '../client.js'
import { toStorageError } from '../drivers/driver-errors.js'

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
  logger?: Logger
}

/**
 * The relay's nonces in PostgreSQL, shared by every replica: `remember` is one `INSERT … ON CONFLICT DO
 * NOTHING` on the (agent, nonce) key, so of two replicas given the same request at once exactly one
 * accepts it, and the answer is durable when it comes (no `whenDurable`). Nonces whose timestamp left the
 * widest auth window served on this database are swept by whichever replica's turn it is.
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

  private constructor(options: PostgresNonceStoreOptions, retentionMs: number) {
    this.#client = options.client
    this.#location = options.location
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 60_000
    this.#retentionMs = retentionMs
    const table = `"${options.schema}".relay_nonces`
    this.#sql = {
      insert: `INSERT INTO ${table} (agent_id, nonce, timestamp) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS "n"`,
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

  /** True when the nonce was new (now recorded for every replica); false for a replay. */
  async remember(agentId: string, nonce: string, timestamp: number): Promise<boolean> {
    let rows: unknown[]
    try {
      rows = await this.#client.query(this.#sql.insert, [agentId, nonce, timestamp])
    } catch (error) {
      throw toStorageError(error, this.#location)
    }
    const now = this.#clock.now()
    if (
      this.#pruning === undefined &&
      (now - this.#lastPrune >= this.#pruneIntervalMs || now < this.#lastPrune)
    ) {
      this.#lastPrune = now
      this.#pruning = this.#sweep(now)
        .catch((error: unknown) =>
          this.#logger.warn(
            { error: error instanceof Error ? error.message : String(error) },
            'could not sweep nonces',
          ),
        )
        .finally(() => {
          this.#pruning = undefined
        })
    }
    return rows.length > 0
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

  /** Nothing to flush: every nonce is written when `remember` answers. */
  flush(): void {}

  /** Waits for a sweep in progress; the client stays open for its owner. */
  async close(): Promise<void> {
    await this.#pruning
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
