import { resolve } from 'node:path'
import { ValidationError } from '@agent-comm/protocol'
import {
  type DatabaseFileOptions,
  openConnection,
  prepareDatabaseFile,
  releaseHeldMessages,
  type SharedStoreOpener,
  toStorageError,
} from '@agent-comm/spool'
import type BetterSqlite3 from 'better-sqlite3'
import { migrateRegistry } from './migrations.js'
import { PROFILE_COLUMNS, prepareStatements, type RegistryStatements } from './statements.js'
import { statusCondition } from './status.js'
import type { AgentRecord, ListAgentsParams, RegistryStore, UpsertAgentParams } from './store.js'

/**
 * Registry writes per connection. `PRAGMA data_version` changes only when *another* connection commits,
 * so the writes of every registry store sharing a connection are counted here, and the change token is
 * both numbers together.
 */
const localWrites = new WeakMap<BetterSqlite3.Database, { count: number }>()

/** Options of {@link SqliteRegistryStore.open}: a connection (`sqlite`) or a file (`path`). */
export interface SqliteRegistryStoreOptions extends DatabaseFileOptions {
  /** An open connection (what `spool.openShared(SqliteRegistryStore.shared())` hands it); not closed by the store. */
  sqlite?: BetterSqlite3.Database
  /** A SQLite file (or `:memory:`) to open when no `sqlite` is given. */
  path?: string
  /** How long a write waits for another process's lock, in ms, when the store opens `path` (10 000). */
  busyTimeoutMs?: number
}

/**
 * The registry's tables in a SQLite file — usually the spool's own, through its connection. The SQLite
 * work is synchronous and short; writes run under `BEGIN IMMEDIATE`, so processes writing at once queue on
 * the busy timeout instead of failing.
 */
export class SqliteRegistryStore implements RegistryStore {
  readonly kind = 'sqlite'
  /** The database file's absolute path, or `:memory:`. */
  readonly location: string
  readonly #sqlite: BetterSqlite3.Database
  readonly #stmt: RegistryStatements
  readonly #ownsConnection: boolean
  readonly #writes: { count: number }
  #closed = false

  private constructor(sqlite: BetterSqlite3.Database, ownsConnection: boolean) {
    this.#sqlite = sqlite
    this.location = sqlite.name
    this.#stmt = prepareStatements(sqlite)
    this.#ownsConnection = ownsConnection
    const writes = localWrites.get(sqlite) ?? { count: 0 }
    localWrites.set(sqlite, writes)
    this.#writes = writes
  }

  /**
   * Opens the store on `options.sqlite` or on the file at `options.path` and migrates the registry's tables.
   * Throws `ValidationError` for bad options, `SchemaVersionError` for a newer database, `StorageError` for
   * an unusable file.
   */
  static async open(options: SqliteRegistryStoreOptions): Promise<SqliteRegistryStore> {
    if (options.sqlite !== undefined && options.path !== undefined) {
      throw new ValidationError(
        'Invalid registry options: give either sqlite (an open connection) or path (a file), not both',
      )
    }
    if (options.sqlite !== undefined) {
      migrateRegistry(options.sqlite, options.sqlite.name, options)
      return new SqliteRegistryStore(options.sqlite, false)
    }
    if (typeof options.path !== 'string' || options.path === '') {
      throw new ValidationError(
        'Invalid registry options: give store (e.g. from @agent-comm/postgres), spool (a spool on SQLite, to share its file), sqlite (an open connection) or path (a SQLite file or :memory:)',
      )
    }
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path)
    prepareDatabaseFile(path, options)
    const sqlite = openConnection(path, { busyTimeoutMs: options.busyTimeoutMs, readonly: options.readonly })
    try {
      migrateRegistry(sqlite, path, options)
      return new SqliteRegistryStore(sqlite, true)
    } catch (error) {
      sqlite.close()
      throw error
    }
  }

  /**
   * The opener of the store in a spool's own SQLite file and connection, for
   * `spool.openShared(SqliteRegistryStore.shared())`: what `Registry.open({ spool })` does. `options` apply
   * to the migration as with `open`.
   */
  static shared(options: DatabaseFileOptions = {}): SharedStoreOpener<Promise<SqliteRegistryStore>> {
    return { name: 'the registry', sqlite: (sqlite) => SqliteRegistryStore.open({ ...options, sqlite }) }
  }

  async upsertAgent(params: UpsertAgentParams): Promise<{ agent: AgentRecord; released: number }> {
    const { agentId, capabilities, now } = params
    return this.#write(() => {
      this.#stmt.upsert.run({
        agentId,
        device: params.device,
        transport: params.transport,
        relayUrl: params.relayUrl,
        inboxDir: params.inboxDir,
        metadata: params.metadata,
        now,
      })
      // The profile and its capability rows change in one transaction, so no reader (and no concurrent
      // registration of the same agent) ever sees one writer's profile with another's capabilities.
      this.#stmt.deleteCapabilities.run(agentId)
      for (let position = 0; position < capabilities.length; position++) {
        this.#stmt.insertCapability.run(agentId, capabilities[position], position)
      }
      // In the registration's transaction: a send that holds a message and re-reads the registry
      // afterwards cannot miss the agent.
      const released =
        params.releaseHeld === null
          ? 0
          : releaseHeldMessages(this.#sqlite, {
              agentId,
              capabilities,
              now,
              defaultMaxAttempts: params.releaseHeld.defaultMaxAttempts,
            })
      const agent = this.#row(agentId)
      if (agent === undefined) throw new Error(`agent '${agentId}' vanished inside its own transaction`)
      return { agent, released }
    })
  }

  async getAgent(params: { agentId: string }): Promise<AgentRecord | undefined> {
    return this.#read(() => this.#row(params.agentId))
  }

  async listAgents(params: ListAgentsParams): Promise<AgentRecord[]> {
    return this.#read(() => {
      const conditions: string[] = []
      const values: Record<string, unknown> = {}
      if (params.capability !== undefined) {
        // Served by agent_capabilities_capability_idx, then one primary-key lookup per matching agent.
        conditions.push(
          'agents.agent_id IN (SELECT agent_id FROM agent_capabilities WHERE capability = @capability)',
        )
        values.capability = params.capability
      }
      if (params.status !== undefined) {
        conditions.push(statusCondition(params.status.status))
        values.activeSince = params.status.activeSince
        values.offlineBefore = params.status.offlineBefore
      }
      if (params.device !== undefined) {
        conditions.push('agents.device = @device')
        values.device = params.device
      }
      if (params.transport !== undefined) {
        conditions.push('agents.transport = @transport')
        values.transport = params.transport
      }
      const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`
      // A list is rare next to get and touch: prepared on each call, never cached per filter combination.
      return this.#sqlite
        .prepare(`SELECT ${PROFILE_COLUMNS} FROM agents ${where} ORDER BY agents.agent_id`)
        .all(values) as AgentRecord[]
    })
  }

  async heartbeat(params: { agentId: string; now: number }): Promise<AgentRecord | undefined> {
    return this.#write(() => {
      this.#stmt.heartbeat.run(params)
      return this.#row(params.agentId)
    })
  }

  async lastSeen(params: { agentId: string }): Promise<number | undefined> {
    return this.#read(() => this.#stmt.lastSeenById.get(params.agentId) as number | undefined)
  }

  async touch(params: { agentId: string; now: number }): Promise<boolean> {
    return this.#write(() => this.#stmt.touch.run(params).changes > 0)
  }

  async setOffline(params: { agentId: string; now: number }): Promise<AgentRecord | undefined> {
    return this.#write(() => {
      this.#stmt.setOffline.run(params)
      return this.#row(params.agentId)
    })
  }

  async deleteAgent(params: { agentId: string }): Promise<boolean> {
    return this.#write(() => {
      this.#stmt.deleteCapabilities.run(params.agentId)
      return this.#stmt.deleteAgent.run(params.agentId).changes > 0
    })
  }

  /**
   * `PRAGMA data_version` (bumped by every commit of another connection, in this process or another) with
   * the count of registry writes on this connection. The pragma costs about what a primary-key read does
   * alone, but saves drizzle's row mapping, the capabilities subquery and the JSON parsing of the profile.
   */
  changeToken(): string {
    try {
      return `${this.#stmt.dataVersion.get() as number}:${this.#writes.count}`
    } catch (error) {
      throw toStorageError(error, this.location)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownsConnection) this.#sqlite.close()
  }

  #row(agentId: string): AgentRecord | undefined {
    return this.#stmt.profileById.get(agentId) as AgentRecord | undefined
  }

  #read<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      throw toStorageError(error, this.location)
    }
  }

  #write<T>(fn: () => T): T {
    // Counted before and whatever the outcome: a token read meanwhile must not vouch for the old rows.
    this.#writes.count++
    try {
      return this.#sqlite.transaction(fn).immediate()
    } catch (error) {
      throw toStorageError(error, this.location)
    }
  }
}
