import { resolve } from 'node:path'
import type { AgentProfile, AgentProfileInput, Clock } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  AgentNotFoundError,
  AgentRegistrationSchema,
  CapabilitySchema,
  ClosedError,
  parseOrThrow,
  systemClock,
  ValidationError,
} from '@agent-comm/protocol'
import { openConnection, prepareDatabaseFile, releaseHeldMessages, toStorageError } from '@agent-comm/spool'
import type BetterSqlite3 from 'better-sqlite3'
import { and, eq, inArray, type SQL, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrateRegistry } from './migrations.js'
import { type ListFilter, ListFilterSchema, type RegistryOptions, RegistryTimingSchema } from './options.js'
import { PROFILE_COLUMNS, type ProfileRow, profileFromRow } from './rows.js'
import * as schema from './schema.js'
import { agentCapabilities, agents } from './schema.js'
import { prepareStatements, type RegistryDatabase, type RegistryStatements } from './statements.js'
import { type PresenceWindows, statusCondition } from './status.js'

/**
 * `touch` skips the write when the stored `lastSeen` is younger than this: presence is judged in minutes,
 * and a read is all a busy agent's every send, poll and ack then costs.
 */
const TOUCH_RESOLUTION_MS = 1000

/** Attempts of a released delivery whose hold recorded none (holds record the sender's; this is the spool's default). */
const DEFAULT_RELEASE_ATTEMPTS = 3

/**
 * The agents that share one agent-comm database: their profiles, capabilities and presence, durable in
 * SQLite so every local process sees the same agents. Every method is async so another store can
 * implement the same API; the SQLite work itself is synchronous and short. Writes run under
 * `BEGIN IMMEDIATE`, so processes writing at once queue on the busy timeout instead of failing.
 */
export class Registry {
  /** The database file, or `:memory:`. */
  readonly path: string
  readonly #sqlite: BetterSqlite3.Database
  readonly #db: RegistryDatabase
  readonly #clock: Clock
  readonly #windows: PresenceWindows
  readonly #ownsConnection: boolean
  readonly #stmt: RegistryStatements
  readonly #releaseToAll: boolean
  #closed = false

  private constructor(
    sqlite: BetterSqlite3.Database,
    ownsConnection: boolean,
    clock: Clock,
    windows: PresenceWindows,
    releaseToAll: boolean,
  ) {
    this.#sqlite = sqlite
    this.path = sqlite.name
    this.#db = drizzle({ client: sqlite, schema })
    this.#clock = clock
    this.#windows = windows
    this.#ownsConnection = ownsConnection
    this.#stmt = prepareStatements(this.#db)
    this.#releaseToAll = releaseToAll
  }

  /**
   * Opens the registry on `options.sqlite` (usually `sqliteConnection(spool)` from `@agent-comm/spool`) or on the file at `options.path`, and
   * migrates its tables to the current schema. Throws `ValidationError` for bad options,
   * `SchemaVersionError` for a database written by a newer version, `StorageError` for an unusable file.
   */
  static async open(options: RegistryOptions): Promise<Registry> {
    const windows = parseOrThrow(
      RegistryTimingSchema,
      { activeWindowMs: options.activeWindowMs, offlineAfterMs: options.offlineAfterMs },
      'registry options',
    )
    const clock = options.clock ?? systemClock
    const releaseHeldTo = options.releaseHeldTo ?? 'sqlite-agents'
    if (releaseHeldTo !== 'sqlite-agents' && releaseHeldTo !== 'all-agents') {
      throw new ValidationError(
        `Invalid registry options: releaseHeldTo must be 'sqlite-agents' or 'all-agents', not '${String(releaseHeldTo)}'`,
      )
    }
    const releaseToAll = releaseHeldTo === 'all-agents'
    if (options.sqlite !== undefined && options.path !== undefined) {
      throw new ValidationError(
        'Invalid registry options: give either sqlite (an open connection) or path (a file), not both',
      )
    }
    if (options.sqlite !== undefined) {
      migrateRegistry(options.sqlite, options.sqlite.name, options)
      return new Registry(options.sqlite, false, clock, windows, releaseToAll)
    }
    if (typeof options.path !== 'string' || options.path === '') {
      throw new ValidationError(
        'Invalid registry options: give sqlite (e.g. sqliteConnection(spool), to share the spool connection) or path (a SQLite file or :memory:)',
      )
    }
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path)
    prepareDatabaseFile(path, options)
    const sqlite = openConnection(path, { busyTimeoutMs: options.busyTimeoutMs, readonly: options.readonly })
    try {
      migrateRegistry(sqlite, path, options)
      return new Registry(sqlite, true, clock, windows, releaseToAll)
    } catch (error) {
      sqlite.close()
      throw error
    }
  }

  /**
   * Registers an agent, or updates the profile of one already registered (its `registeredAt` is kept).
   * Either way the agent counts as seen now and any explicit offline mark is cleared. An agent on the
   * `sqlite` transport is given, in the same transaction, one delivery of each held broadcast or
   * capability message it now matches (see the spool's `hold`). `status`, `lastSeen`
   * and `registeredAt` in the input are ignored: the registry owns them. Throws `ValidationError` naming
   * each bad field, including a missing `relayUrl` for `http` agents and `inboxDir` for `file` agents.
   */
  async register(input: AgentProfileInput): Promise<AgentProfile> {
    this.#open()
    const profile = parseOrThrow(AgentRegistrationSchema, input, 'agent profile')
    refuseReservedId(profile.agentId)
    const capabilities = [...new Set(profile.capabilities)]
    const now = this.#clock.now()
    return this.#write(() => {
      const fields = {
        device: profile.device,
        transport: profile.transport,
        relayUrl: profile.relayUrl ?? null,
        inboxDir: profile.inboxDir ?? null,
        metadata: JSON.stringify(profile.metadata),
      }
      this.#db
        .insert(agents)
        .values({ agentId: profile.agentId, ...fields, registeredAt: now, lastSeen: now, offlineAt: null })
        .onConflictDoUpdate({
          target: agents.agentId,
          // registered_at is left alone; last_seen never moves back, whichever process's clock wrote it.
          set: { ...fields, lastSeen: sql`max(${agents.lastSeen}, ${now})`, offlineAt: null },
        })
        .run()
      // The profile and its capability rows change in one transaction, so no reader (and no concurrent
      // registration of the same agent) ever sees one writer's profile with another's capabilities.
      this.#db.delete(agentCapabilities).where(eq(agentCapabilities.agentId, profile.agentId)).run()
      if (capabilities.length > 0) {
        this.#db
          .insert(agentCapabilities)
          .values(
            capabilities.map((capability, position) => ({ agentId: profile.agentId, capability, position })),
          )
          .run()
      }
      // Every registration passes here (coordinator, CLI, MCP server, relay), so this is where an agent
      // gets the held `*` / `capability:<name>` messages it now matches — in the same transaction, so a
      // send that holds a message and re-reads the registry afterwards cannot miss it. Only agents that
      // receive through this database (transport sqlite) can claim a delivery written here — on a relay,
      // every agent registered with it (releaseHeldTo: 'all-agents').
      if (this.#releaseToAll || profile.transport === 'sqlite') {
        releaseHeldMessages(this.#sqlite, {
          agentId: profile.agentId,
          capabilities,
          now,
          defaultMaxAttempts: DEFAULT_RELEASE_ATTEMPTS,
        })
      }
      return this.#requireRow(profile.agentId, now)
    })
  }

  /** Removes an agent and its capabilities. Throws `AgentNotFoundError` if it is not registered. */
  async deregister(agentId: string): Promise<void> {
    this.#open()
    const id = parseAgentId(agentId)
    this.#write(() => {
      this.#db.delete(agentCapabilities).where(eq(agentCapabilities.agentId, id)).run()
      const { changes } = this.#db.delete(agents).where(eq(agents.agentId, id)).run()
      if (changes === 0) throw new AgentNotFoundError(id)
    })
  }

  /** The profile of `agentId`, or `undefined` if it is not registered. */
  async get(agentId: string): Promise<AgentProfile | undefined> {
    this.#open()
    const id = parseAgentId(agentId)
    return this.#read(() => {
      const row = this.#stmt.profileById.get({ agentId: id }) as ProfileRow | undefined
      return row === undefined ? undefined : profileFromRow(row, this.#clock.now(), this.#windows)
    })
  }

  /** The profile of `agentId`; throws `AgentNotFoundError` (whose hint says how to register) if unknown. */
  async require(agentId: string): Promise<AgentProfile> {
    const profile = await this.get(agentId)
    if (profile === undefined) throw new AgentNotFoundError(agentId)
    return profile
  }

  /**
   * The registered agents matching every given filter, ordered by id. `status` filters on the status
   * derived now, the same one the returned profiles carry.
   */
  async list(filter: ListFilter = {}): Promise<AgentProfile[]> {
    this.#open()
    const { capability, status, device, transport } = parseOrThrow(ListFilterSchema, filter, 'agent filter')
    return this.#read(() => {
      const now = this.#clock.now()
      const conditions: SQL[] = []
      if (capability !== undefined) {
        // Served by agent_capabilities_capability_idx, then one primary-key lookup per matching agent.
        const holders = this.#db
          .select({ agentId: agentCapabilities.agentId })
          .from(agentCapabilities)
          .where(eq(agentCapabilities.capability, capability))
        conditions.push(inArray(agents.agentId, holders))
      }
      if (status !== undefined) conditions.push(statusCondition(status, now, this.#windows))
      if (device !== undefined) conditions.push(eq(agents.device, device))
      if (transport !== undefined) conditions.push(eq(agents.transport, transport))
      const rows = this.#db
        .select(PROFILE_COLUMNS)
        .from(agents)
        .where(and(...conditions))
        .orderBy(agents.agentId)
        .all()
      return rows.map((row) => profileFromRow(row, now, this.#windows))
    })
  }

  /**
   * Every agent with `capability`, whatever its status, ordered by id — the recipients of a
   * `capability:<name>` message, which queue durably for agents that are away. Served by an index.
   */
  async findByCapability(capability: string): Promise<AgentProfile[]> {
    const parsed = parseOrThrow(CapabilitySchema, capability, 'capability')
    return this.list({ capability: parsed })
  }

  /**
   * Records that the agent is alive: it counts as seen now and an explicit offline mark is cleared.
   * Throws `AgentNotFoundError` if it is not registered.
   */
  async heartbeat(agentId: string): Promise<AgentProfile> {
    this.#open()
    const id = parseAgentId(agentId)
    const now = this.#clock.now()
    return this.#write(() => {
      this.#db
        .update(agents)
        .set({ lastSeen: sql`max(${agents.lastSeen}, ${now})`, offlineAt: null })
        .where(eq(agents.agentId, id))
        .run()
      return this.#requireRow(id, now)
    })
  }

  /**
   * Refreshes the agent's `lastSeen`, cheaply enough to call on every send, poll and ack: it writes at
   * most once a second per agent. It does not clear an explicit offline mark (only `register` and
   * `heartbeat` do), so an agent that signed off stays offline while its last acks drain. Resolves
   * `false`, without error, for an agent that is not registered.
   */
  async touch(agentId: string): Promise<boolean> {
    this.#open()
    const id = parseAgentId(agentId)
    const now = this.#clock.now()
    const seen = this.#read(
      () => this.#stmt.lastSeenById.get({ agentId: id }) as { lastSeen: number } | undefined,
    )
    if (seen === undefined) return false
    if (now - seen.lastSeen < TOUCH_RESOLUTION_MS) return true
    return this.#write(() => {
      const { changes } = this.#db
        .update(agents)
        .set({ lastSeen: sql`max(${agents.lastSeen}, ${now})` })
        .where(eq(agents.agentId, id))
        .run()
      return changes > 0
    })
  }

  /**
   * Marks the agent offline now, whenever it was last seen, until it registers again or sends a
   * heartbeat. Throws `AgentNotFoundError` if it is not registered.
   */
  async setOffline(agentId: string): Promise<AgentProfile> {
    this.#open()
    const id = parseAgentId(agentId)
    const now = this.#clock.now()
    return this.#write(() => {
      this.#db.update(agents).set({ offlineAt: now }).where(eq(agents.agentId, id)).run()
      return this.#requireRow(id, now)
    })
  }

  /**
   * Stops using the registry. A connection the registry opened itself (from `path`) is closed; one it was
   * given (`sqlite`) stays open for its owner. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownsConnection) this.#sqlite.close()
  }

  #requireRow(agentId: string, now: number): AgentProfile {
    const row = this.#stmt.profileById.get({ agentId }) as ProfileRow | undefined
    if (row === undefined) throw new AgentNotFoundError(agentId)
    return profileFromRow(row, now, this.#windows)
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This registry')
  }

  #read<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      throw toStorageError(error, this.path)
    }
  }

  #write<T>(fn: () => T): T {
    try {
      return this.#sqlite.transaction(fn).immediate()
    } catch (error) {
      throw toStorageError(error, this.path)
    }
  }
}

function parseAgentId(agentId: string): string {
  return parseOrThrow(AgentIdSchema, agentId, 'agent id')
}

/**
 * Prefixes of addresses that mean something other than one agent: `capability:<name>` reaches every agent
 * with the capability, `human:` and `a2a:` are kept for people and Agent2Agent peers. An agent named so
 * could never be told apart from the address (`*`, everyone, is already refused by the id's syntax).
 */
export const RESERVED_AGENT_ID_PREFIXES = ['capability:', 'human:', 'a2a:'] as const

function refuseReservedId(agentId: string): void {
  const prefix = RESERVED_AGENT_ID_PREFIXES.find((p) => agentId.toLowerCase().startsWith(p))
  if (prefix === undefined) return
  const message = `must not start with '${prefix}': it is reserved for addresses (${RESERVED_AGENT_ID_PREFIXES.join(', ')} and *)`
  throw new ValidationError(`Invalid agent profile: agentId: ${message}`, [{ path: 'agentId', message }], {
    hint: `Choose a name without the prefix, e.g. '${agentId.slice(prefix.length) || 'my-agent'}'.`,
  })
}
