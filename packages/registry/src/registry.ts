import type { AgentProfile, AgentProfileInput, Clock } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  AgentNotFoundError,
  AgentRegistrationSchema,
  assertRegistrableAgentId,
  BROADCAST_TARGET,
  CAPABILITY_TARGET_PREFIX,
  CapabilitySchema,
  ClosedError,
  parseOrThrow,
  systemClock,
  ValidationError,
} from '@agent-comm/protocol'
import { DEFAULT_MAX_ATTEMPTS } from '@agent-comm/protocol/bounds'
import { type ListFilter, ListFilterSchema, type RegistryOptions, RegistryTimingSchema } from './options.js'
import { profileFromRow } from './rows.js'
import { SqliteRegistryStore } from './sqlite-store.js'
import { type PresenceWindows, statusThresholds } from './status.js'
import type { AgentRecord, RegistryStore } from './store.js'

/**
 * `touch` skips the write when the stored `lastSeen` is younger than this: presence is judged in minutes,
 * and a read is all a busy agent's every send, poll and ack then costs.
 */
const TOUCH_RESOLUTION_MS = 1000

/** Most agents whose rows the registry keeps in memory; past it the memory starts over. */
const CACHE_LIMIT = 10_000

/**
 * The agents that share one agent-comm database: their profiles, capabilities and presence, durable in a
 * {@link RegistryStore} — SQLite (the spool's file, embedded) or PostgreSQL (`@agent-comm/postgres`) — so
 * every process on that database sees the same agents. The registry owns what a profile means
 * (validation, reserved ids, the clock, presence); the store keeps the rows, each operation one transaction.
 */
export class Registry {
  /** Where the data is, safe to show: the SQLite file (or `:memory:`), or the store's `location`. */
  readonly path: string
  readonly #store: RegistryStore
  readonly #clock: Clock
  readonly #windows: PresenceWindows
  readonly #releaseToAll: boolean
  /**
   * Stored rows by agent id (null: not registered), valid while the store's change token is `#cacheToken`:
   * the coordinator looks up the recipient and touches the sender on every send, poll and ack.
   */
  readonly #cache = new Map<string, AgentRecord | null>()
  #cacheToken: string | number | undefined
  #closed = false

  private constructor(store: RegistryStore, clock: Clock, windows: PresenceWindows, releaseToAll: boolean) {
    this.#store = store
    this.path = store.location
    this.#clock = clock
    this.#windows = windows
    this.#releaseToAll = releaseToAll
  }

  /**
   * Opens the registry on exactly one of `options.store` (any {@link RegistryStore}, e.g. PostgreSQL's, already
   * open), `options.spool` (a spool on SQLite: the registry shares its connection and file, through
   * `spool.openShared`) or the SQLite file at `options.path`, migrating the SQLite tables to the current schema. Throws `ValidationError` for bad
   * options, `SchemaVersionError` for a database written by a newer version, `StorageError` for an unusable
   * file.
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
    const given = [options.store, options.spool, options.path].filter((o) => o !== undefined)
    if (given.length > 1) {
      throw new ValidationError(
        'Invalid registry options: give one of store (an open RegistryStore), spool (to share its SQLite file) and path (a file)',
      )
    }
    if (options.store !== undefined) return new Registry(options.store, clock, windows, releaseToAll)
    const { create, allowForeignTables, readonly, busyTimeoutMs, path, spool } = options
    const fileOptions = { create, allowForeignTables, readonly }
    if (spool !== undefined) {
      // `openShared` names the spool's store when it is not SQLite (a ValidationError).
      const store = await spool.openShared(SqliteRegistryStore.shared(fileOptions))
      return new Registry(store, clock, windows, releaseToAll)
    }
    if (typeof path !== 'string' || path === '') {
      throw new ValidationError(
        'Invalid registry options: give store (e.g. from @agent-comm/postgres), spool (a spool on SQLite, to share its file) or path (a SQLite file or :memory:)',
      )
    }
    const store = await SqliteRegistryStore.open({ ...fileOptions, busyTimeoutMs, path })
    return new Registry(store, clock, windows, releaseToAll)
  }

  /** The store this registry keeps its rows in (`store.kind` says which). */
  get store(): RegistryStore {
    return this.#store
  }

  /**
   * Registers an agent, or updates the profile of one already registered (its `registeredAt` is kept).
   * Either way the agent counts as seen now and any explicit offline mark is cleared. An agent on the
   * `sqlite` transport (the transport of agents receiving through this database, whichever store keeps it)
   * is given, in the same transaction, one delivery of each held broadcast or capability message it now
   * matches (see the spool's `hold`). `status`, `lastSeen` and `registeredAt` in the input are ignored: the
   * registry owns them. Throws `ValidationError` naming each bad field, including a missing `relayUrl` for
   * `http` agents and `inboxDir` for `file` agents.
   */
  async register(input: AgentProfileInput): Promise<AgentProfile> {
    this.#open()
    const profile = parseOrThrow(AgentRegistrationSchema, input, 'agent profile')
    assertRegistrableAgentId(profile.agentId)
    const now = this.#clock.now()
    // Every registration passes here (coordinator, CLI, MCP server, relay), so this is where an agent gets
    // the held `*` / `capability:<name>` messages it now matches — in the registration's transaction, so a
    // send that holds a message and re-reads the registry afterwards cannot miss it. Only agents that
    // receive through this database (transport sqlite) can claim a delivery written here — on a relay,
    // every agent registered with it (releaseHeldTo: 'all-agents').
    const release = this.#releaseToAll || profile.transport === 'sqlite'
    const { agent } = await this.#written(
      this.#store.upsertAgent({
        agentId: profile.agentId,
        device: profile.device,
        transport: profile.transport,
        relayUrl: profile.relayUrl ?? null,
        inboxDir: profile.inboxDir ?? null,
        metadata: JSON.stringify(profile.metadata),
        capabilities: [...new Set(profile.capabilities)],
        now,
        // A hold that recorded no attempts (holds record the sender's) releases with the spool's default.
        releaseHeld: release ? { defaultMaxAttempts: DEFAULT_MAX_ATTEMPTS } : null,
      }),
    )
    return this.#profile(agent, now)
  }

  /** Removes an agent and its capabilities. Throws `AgentNotFoundError` if it is not registered. */
  async deregister(agentId: string): Promise<void> {
    this.#open()
    const id = parseAgentId(agentId)
    if (!(await this.#written(this.#store.deleteAgent({ agentId: id })))) {
      // Not the usual "register it first": there is nothing to remove.
      throw new AgentNotFoundError(id, {
        hint: `Nothing to remove: '${id}' is not registered (or was removed already). agent-comm agents lists the registered agents.`,
      })
    }
  }

  /** The profile of `agentId`, or `undefined` if it is not registered. */
  async get(agentId: string): Promise<AgentProfile | undefined> {
    this.#open()
    const id = this.#validId(agentId)
    // From memory without a turn of the event loop: the coordinator asks on every send and poll.
    const row = this.#cached(id) ?? (await this.#fetch(id))
    return row === null ? undefined : this.#profile(row, this.#clock.now())
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
    const now = this.#clock.now()
    const rows = await this.#store.listAgents({
      capability,
      device,
      transport,
      status: status === undefined ? undefined : statusThresholds(status, now, this.#windows),
    })
    return rows.map((row) => this.#profile(row, now))
  }

  /** How many registered agents are active, inactive and offline now (the presence `list` derives). */
  async countByStatus(): Promise<Record<AgentProfile['status'], number>> {
    const counts = { active: 0, inactive: 0, offline: 0 }
    for (const agent of await this.list()) counts[agent.status]++
    return counts
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
   * The recipients of a group address, `sender` excluded: every registered agent for `*`, every agent with
   * the capability for `capability:<name>` (whatever its status: a group message queues for agents that are
   * away). `undefined` when `to` names one agent. The one lookup of a group's members for every sender.
   */
  async groupMembers(to: string, sender: string): Promise<AgentProfile[] | undefined> {
    let agents: AgentProfile[]
    if (to === BROADCAST_TARGET) agents = await this.list()
    else if (to.startsWith(CAPABILITY_TARGET_PREFIX))
      agents = await this.findByCapability(to.slice(CAPABILITY_TARGET_PREFIX.length))
    else return undefined
    return agents.filter((agent) => agent.agentId !== sender)
  }

  /**
   * Records that the agent is alive: it counts as seen now and an explicit offline mark is cleared.
   * Throws `AgentNotFoundError` if it is not registered.
   */
  async heartbeat(agentId: string): Promise<AgentProfile> {
    this.#open()
    const id = parseAgentId(agentId)
    const now = this.#clock.now()
    return this.#profile(await this.#written(this.#store.heartbeat({ agentId: id, now })), now, id)
  }

  /**
   * Refreshes the agent's `lastSeen`, cheaply enough to call on every send, poll and ack: it writes at
   * most once a second per agent. It does not clear an explicit offline mark (only `register` and
   * `heartbeat` do), so an agent that signed off stays offline while its last acks drain. Resolves
   * `false`, without error, for an agent that is not registered.
   */
  async touch(agentId: string): Promise<boolean> {
    this.#open()
    const id = this.#validId(agentId)
    const now = this.#clock.now()
    // Seen within the resolution by the row in memory: lastSeen never moves back, so a row older than the
    // store's is only ever earlier, and skipping the write is right. This skips even the change token; an
    // agent deregistered by another connection may then be answered `true` for at most the resolution.
    const held = this.#cacheToken === undefined ? undefined : this.#cache.get(id)
    if (held !== undefined && held !== null && now - held.lastSeen < TOUCH_RESOLUTION_MS) return true
    // With a change feed the row comes from memory (and is kept there); without one, a lastSeen read.
    const seen =
      this.#store.changeToken === undefined
        ? await this.#store.lastSeen({ agentId: id })
        : (await this.#record(id))?.lastSeen
    if (seen === undefined) return false
    if (now - seen < TOUCH_RESOLUTION_MS) return true
    return this.#written(this.#store.touch({ agentId: id, now }))
  }

  /**
   * Marks the agent offline now, whenever it was last seen, until it registers again or sends a
   * heartbeat. Throws `AgentNotFoundError` if it is not registered.
   */
  async setOffline(agentId: string): Promise<AgentProfile> {
    this.#open()
    const id = parseAgentId(agentId)
    const now = this.#clock.now()
    return this.#profile(await this.#written(this.#store.setOffline({ agentId: id, now })), now, id)
  }

  /**
   * Stops using the registry and closes its store. A SQLite connection the registry was given (`sqlite`)
   * stays open for its owner; a PostgreSQL store shares its pool with the spool, which ends it. Safe to
   * call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#store.close()
  }

  /**
   * Forgets the rows in memory once a write through this registry settled (whether it succeeded or not);
   * the store's change token moves too, but `touch` may trust a row without asking for the token.
   */
  async #written<T>(write: Promise<T> | T): Promise<T> {
    try {
      return await write
    } finally {
      this.#cache.clear()
    }
  }

  /** The row of `agentId` from memory when the store's change token vouches for it, else undefined. */
  #cached(agentId: string): AgentRecord | null | undefined {
    const token = this.#store.changeToken?.()
    if (token === undefined) return undefined
    if (token !== this.#cacheToken) {
      this.#cache.clear()
      this.#cacheToken = token
      return undefined
    }
    return this.#cache.get(agentId)
  }

  /** The stored row of `agentId` (null: not registered), from memory while the store says nothing changed. */
  async #record(agentId: string): Promise<AgentRecord | null> {
    return this.#cached(agentId) ?? this.#fetch(agentId)
  }

  /** The stored row of `agentId` (null: not registered) read from the store, kept in memory if it may be. */
  async #fetch(agentId: string): Promise<AgentRecord | null> {
    // The token is read before the row (by `#cached`, always called just before): a change committed in
    // between makes the next token differ.
    const token = this.#cacheToken
    const row = (await this.#store.getAgent({ agentId })) ?? null
    // An absent agent is never kept: on a store whose token moves when another process's notification
    // arrives (PostgreSQL), a registration made elsewhere must be found at once, not after the notification.
    if (
      row !== null &&
      token !== undefined &&
      this.#cacheToken === token &&
      this.#store.changeToken?.() === token
    ) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear()
      this.#cache.set(agentId, row)
    }
    return row
  }

  /**
   * `agentId` checked against the protocol's schema — skipped for an id held in memory, which was checked
   * on its way in (the schema only checks, it changes nothing): the coordinator asks on every operation.
   */
  #validId(agentId: string): string {
    return this.#cache.has(agentId) ? agentId : parseAgentId(agentId)
  }

  #profile(row: AgentRecord | undefined, now: number, agentId?: string): AgentProfile {
    if (row === undefined) throw new AgentNotFoundError(agentId ?? 'unknown')
    return profileFromRow(row, now, this.#windows)
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This registry')
  }
}

function parseAgentId(agentId: string): string {
  return parseOrThrow(AgentIdSchema, agentId, 'agent id')
}
