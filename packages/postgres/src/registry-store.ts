import { BROADCAST_TARGET, CAPABILITY_TARGET_PREFIX, silentLogger } from '@agent-comm/protocol'
import type { AgentRecord, ListAgentsParams, RegistryStore, UpsertAgentParams } from '@agent-comm/registry'
import { ChangeFeed } from './change-feed.js'
import type { SqlClient, SqlQueryable } from './client.js'
import { withStorageErrors } from './drivers/driver-errors.js'
import { validateSchemaName } from './migrate.js'
import { type RegistryStatements, registryStatements } from './registry-statements.js'
import { SqlParams } from './sql-params.js'
import { type WriteStatements, writeStatements } from './statements.js'
import { HOLDS_LOCK_SQL, notifyChannel, REGISTRY_CHANGED } from './store.js'

/** What a {@link PostgresRegistryStore} is built from (see `openPostgres`, which also migrates). */
export interface PostgresRegistryStoreOptions {
  client: SqlClient
  /** The PostgreSQL schema holding the tables (the spool's: default `agent_comm`). */
  schema: string
  /** Where the data is, safe to show: the URL without its password. */
  location: string
  /** Whether `close()` ends the client (false when it shares the spool's pool). */
  ownsClient: boolean
}

/**
 * The registry's tables on PostgreSQL, in the spool's schema, with the same semantics as the SQLite
 * registry store. A registration's upsert, its capability rows and the release of held messages are one
 * transaction; a release that queued anything sends the spool's `pg_notify` in that transaction, so
 * waiting claimers in every process hear of it on commit.
 *
 * Every write also sends a `pg_notify` with the payload {@link REGISTRY_CHANGED} on the schema's channel,
 * in its own transaction, and the store LISTENs for them (one connection per store, opened by the first
 * {@link PostgresRegistryStore.changeToken} call): the token moves with each one heard, so the registry
 * keeps profiles in memory and asks the database only after a change. A change committed by another
 * process is seen once its notification arrives — the time a notification takes (`bench/store.bench.mjs`'s
 * wake-up figure); until the LISTEN took effect, and after the listening connection was lost until it
 * LISTENs again, the token differs on every call and nothing is answered from memory.
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly kind = 'postgres'
  readonly location: string
  /** The schema holding the tables. */
  readonly schema: string
  readonly #client: SqlClient
  readonly #ownsClient: boolean
  readonly #sql: RegistryStatements
  readonly #spoolSql: WriteStatements
  readonly #channel: string
  readonly #feed: ChangeFeed
  /** Registry changes heard (and LISTENs that took effect) since the store opened. */
  #heard = 0
  /** Tokens handed out while nothing was heard yet: each unique, so none vouches for memory. */
  #unheard = 0
  #unwatch: (() => void) | undefined
  readonly #waiters: (() => void)[] = []
  #closed = false

  constructor(options: PostgresRegistryStoreOptions) {
    this.schema = validateSchemaName(options.schema)
    this.location = options.location
    this.#client = options.client
    this.#ownsClient = options.ownsClient
    this.#sql = registryStatements(this.schema)
    this.#spoolSql = writeStatements(this.schema)
    this.#channel = notifyChannel(this.schema)
    this.#feed = new ChangeFeed(this.#client, this.#channel, this.location, silentLogger, {
      accept: (payload) => payload === REGISTRY_CHANGED,
    })
  }

  /**
   * The registry's change token (see {@link RegistryStore.changeToken}): the count of registry changes
   * this store heard of. The first call starts listening.
   */
  changeToken(): number {
    this.#watch()
    return this.#heard > 0 ? this.#heard : -++this.#unheard
  }

  /**
   * Resolves when this store next hears that the registry changed (or starts hearing it: the first LISTEN
   * taking effect, or one after a lost connection). Starts listening if nothing did yet. For tests and
   * tools that must know a change made elsewhere is now reflected in {@link changeToken}.
   */
  nextChange(): Promise<void> {
    const next = new Promise<void>((resolve) => this.#waiters.push(resolve))
    this.#watch()
    return next
  }

  #watch(): void {
    if (this.#unwatch !== undefined || this.#closed) return
    this.#unwatch = this.#feed.add(() => {
      this.#heard++
      for (const resolve of this.#waiters.splice(0)) resolve()
    })
  }

  async upsertAgent(params: UpsertAgentParams): Promise<{ agent: AgentRecord; released: number }> {
    const { agentId, capabilities, now } = params
    return this.#transaction(async (tx) => {
      await tx.query(this.#sql.upsertAgent, [
        agentId,
        params.device,
        params.transport,
        params.relayUrl,
        params.inboxDir,
        params.metadata,
        now,
      ])
      await tx.query(this.#sql.deleteCapabilities, [agentId])
      if (capabilities.length > 0) await tx.query(this.#sql.insertCapabilities, [agentId, capabilities])
      let released = 0
      if (params.releaseHeld !== null) {
        // The spool's own release statement, in the registration's transaction: the registration and the
        // deliveries it hands out commit together (idempotent on the (message, recipient) key).
        // After any hold in flight commits, so its message is seen here (see HOLDS_LOCK_SQL).
        await tx.query(HOLDS_LOCK_SQL.exclusive, [HOLDS_LOCK_SQL.key(this.schema)])
        const targets = [BROADCAST_TARGET, ...capabilities.map((c) => `${CAPABILITY_TARGET_PREFIX}${c}`)]
        const [row] = await tx.query<{ n: number }>(this.#spoolSql.releaseHeld, [
          agentId,
          now,
          params.releaseHeld.defaultMaxAttempts,
          targets,
        ])
        released = row?.n ?? 0
        if (released > 0) await tx.query(this.#spoolSql.notify, [this.#channel, ''])
      }
      await this.#changed(tx)
      const [agent] = await tx.query<AgentRecord & Record<string, unknown>>(this.#sql.profileById, [agentId])
      if (agent === undefined) throw new Error(`agent '${agentId}' vanished inside its own transaction`)
      return { agent, released }
    })
  }

  async getAgent(params: { agentId: string }): Promise<AgentRecord | undefined> {
    return this.#read(async (db) => (await this.#profiles(db, this.#sql.profileById, [params.agentId]))[0])
  }

  async listAgents(params: ListAgentsParams): Promise<AgentRecord[]> {
    const conditions: string[] = []
    const bound = new SqlParams()
    if (params.capability !== undefined)
      conditions.push(this.#sql.capabilityHolders(bound.add(params.capability)))
    if (params.device !== undefined) conditions.push(`a.device = ${bound.add(params.device)}`)
    if (params.transport !== undefined) conditions.push(`a.transport = ${bound.add(params.transport)}`)
    if (params.status !== undefined) {
      // The SQL twin of the registry's deriveStatus, at the thresholds the registry computed.
      const { status, activeSince, offlineBefore } = params.status
      if (status === 'active') {
        conditions.push(`(a.offline_at IS NULL AND a.last_seen > ${bound.add(activeSince)})`)
      } else if (status === 'inactive') {
        conditions.push(
          `(a.offline_at IS NULL AND a.last_seen <= ${bound.add(activeSince)} AND a.last_seen > ${bound.add(offlineBefore)})`,
        )
      } else {
        conditions.push(`(a.offline_at IS NOT NULL OR a.last_seen <= ${bound.add(offlineBefore)})`)
      }
    }
    const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`
    return this.#read((db) =>
      this.#profiles(db, `${this.#sql.profile}${where} ORDER BY a.agent_id`, bound.values),
    )
  }

  async heartbeat(params: { agentId: string; now: number }): Promise<AgentRecord | undefined> {
    return this.#transaction(async (tx) => {
      await tx.query(this.#sql.heartbeat, [params.agentId, params.now])
      await this.#changed(tx)
      return (await this.#profiles(tx, this.#sql.profileById, [params.agentId]))[0]
    })
  }

  async lastSeen(params: { agentId: string }): Promise<number | undefined> {
    return this.#read(async (db) => {
      const [row] = await db.query<{ lastSeen: number }>(this.#sql.lastSeen, [params.agentId])
      return row === undefined ? undefined : Number(row.lastSeen)
    })
  }

  async touch(params: { agentId: string; now: number }): Promise<boolean> {
    return this.#read(
      async (db) =>
        (await db.query(this.#sql.touch, [params.agentId, params.now, this.#channel, REGISTRY_CHANGED]))
          .length > 0,
    )
  }

  async setOffline(params: { agentId: string; now: number }): Promise<AgentRecord | undefined> {
    return this.#transaction(async (tx) => {
      await tx.query(this.#sql.setOffline, [params.agentId, params.now])
      await this.#changed(tx)
      return (await this.#profiles(tx, this.#sql.profileById, [params.agentId]))[0]
    })
  }

  async deleteAgent(params: { agentId: string }): Promise<boolean> {
    // The capability rows go with the agent (ON DELETE CASCADE), in the statement's own transaction.
    return this.#read(
      async (db) =>
        (await db.query(this.#sql.deleteAgent, [params.agentId, this.#channel, REGISTRY_CHANGED])).length > 0,
    )
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#unwatch?.()
    await this.#feed.close()
    if (this.#ownsClient) await this.#client.end()
  }

  /** Tells every registry store on the schema, on commit, that an agent changed. */
  async #changed(tx: SqlQueryable): Promise<void> {
    await tx.query(this.#sql.changed, [this.#channel, REGISTRY_CHANGED])
  }

  async #profiles(db: SqlQueryable, text: string, values: readonly unknown[]): Promise<AgentRecord[]> {
    const rows = await db.query<AgentRecord & Record<string, unknown>>(text, values)
    // int8 columns arrive as numbers from the store's drivers; Number() keeps a driver that hands back
    // strings from leaking them into profiles.
    return rows.map((row) => ({
      ...row,
      registeredAt: Number(row.registeredAt),
      lastSeen: Number(row.lastSeen),
      offlineAt: row.offlineAt === null ? null : Number(row.offlineAt),
    }))
  }

  #transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return withStorageErrors(this.location, () => this.#client.transaction(fn))
  }

  #read<T>(fn: (db: SqlQueryable) => Promise<T>): Promise<T> {
    return withStorageErrors(this.location, () => fn(this.#client))
  }
}
