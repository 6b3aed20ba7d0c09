import type { AgentStatus, TransportKind } from '@agent-comm/protocol'

/**
 * The storage seam of the registry (the spool's `SpoolStore` shape): one method per operation, each taking
 * a params object, each **one transaction** of its own, each reporting facts (the row as stored, whether
 * anything changed) rather than throwing the registry's domain errors. Validation, reserved ids, the
 * clock, presence windows and `AgentNotFoundError` stay in `Registry`; a store only keeps rows. Two stores
 * implement it: SQLite (embedded, in this package) and PostgreSQL (`@agent-comm/postgres`).
 *
 * A store throws only `StorageError` (`code: 'STORAGE'`, with a hint). Times are milliseconds since the
 * epoch passed in by the registry: a store never reads the time itself.
 */
export interface RegistryStore {
  /** Which store this is: `sqlite` or `postgres`. */
  readonly kind: string
  /** Where the data is, safe to show: a file path, or a URL without its password. */
  readonly location: string

  /**
   * Inserts the agent, or updates the profile of one already stored (keeping `registeredAt`; `lastSeen`
   * never moves back; the offline mark cleared), replaces its capabilities, and — when `releaseHeld` is
   * given — queues in the **same transaction** one delivery of each held `*` / `capability:<c>` message it
   * now matches (see the spool's `hold`). Returns the stored row and how many deliveries were released.
   */
  upsertAgent(params: UpsertAgentParams): Promise<{ agent: AgentRecord; released: number }>

  /** The stored agent, or undefined. */
  getAgent(params: { agentId: string }): Promise<AgentRecord | undefined>

  /** The agents matching every given filter, ordered by id. */
  listAgents(params: ListAgentsParams): Promise<AgentRecord[]>

  /** Sets `lastSeen` to at least `now` and clears the offline mark; the row after, or undefined if unknown. */
  heartbeat(params: { agentId: string; now: number }): Promise<AgentRecord | undefined>

  /** The stored `lastSeen` of the agent, or undefined if unknown (a cheap primary-key read). */
  lastSeen(params: { agentId: string }): Promise<number | undefined>

  /** Sets `lastSeen` to at least `now` (the offline mark stays); false when the agent is unknown. */
  touch(params: { agentId: string; now: number }): Promise<boolean>

  /** Marks the agent offline at `now`; the row after, or undefined if unknown. */
  setOffline(params: { agentId: string; now: number }): Promise<AgentRecord | undefined>

  /** Removes the agent and its capabilities; false when it was not stored. */
  deleteAgent(params: { agentId: string }): Promise<boolean>

  /**
   * Optional change feed for the registry's in-memory profiles: a token, read synchronously and cheaply,
   * that differs from every earlier one whenever a stored agent may have changed — through this store,
   * another store on the same database, or another process. While it stays the same the registry answers
   * `get` and `touch` from memory; a store without it is asked every time.
   */
  changeToken?(): string | number

  /** Closes what the store opened itself (a connection it was given stays open). Safe to call twice. */
  close(): Promise<void>
}

/** The columns of an agent's row that a registration writes and every read returns. */
export interface AgentColumns {
  agentId: string
  device: string
  transport: TransportKind
  relayUrl: string | null
  inboxDir: string | null
  /** JSON text of the metadata object. */
  metadata: string
}

/** The fields of a registration as the registry stores them (validated, deduplicated). */
export interface UpsertAgentParams extends AgentColumns {
  /** In the agent's order, without duplicates. */
  capabilities: readonly string[]
  now: number
  /** Release held messages to the agent in the registration's transaction; null: release none. */
  releaseHeld: { defaultMaxAttempts: number } | null
}

/** Filters of {@link RegistryStore.listAgents}; `status` is judged against the two thresholds given. */
export interface ListAgentsParams {
  capability?: string
  device?: string
  transport?: TransportKind
  status?: {
    status: AgentStatus
    /** Seen after this (and not marked offline): active. */
    activeSince: number
    /** Seen at or before this (or marked offline): offline. */
    offlineBefore: number
  }
}

/**
 * A stored agent as every store reads it back: `metadata` and `capabilities` are the JSON text as stored
 * (the capabilities a JSON array in the agent's order), so the registry reports a damaged row the same way
 * on every store.
 */
export interface AgentRecord extends AgentColumns {
  capabilities: string
  registeredAt: number
  lastSeen: number
  offlineAt: number | null
}
