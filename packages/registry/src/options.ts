import type { Clock } from '@agent-comm/protocol'
import { AgentStatusSchema, CapabilitySchema, freeText, TransportKindSchema } from '@agent-comm/protocol'
import { lazySchema } from '@agent-comm/protocol/lazy-schema'
import type { DatabaseFileOptions, Spool } from '@agent-comm/spool'
import { z } from 'zod'
import type { RegistryStore } from './store.js'

/** Five minutes: an agent seen this recently is `active`. */
export const DEFAULT_ACTIVE_WINDOW_MS = 5 * 60_000

/** A day: an agent unseen this long is `offline`. */
export const DEFAULT_OFFLINE_AFTER_MS = 24 * 60 * 60_000

/**
 * Everything a registry is built from: a store (`store`), a spool whose SQLite file it shares (`spool`) or
 * a SQLite file (`path`), and optional timings.
 * `create` and `allowForeignTables` (see the spool's `DatabaseFileOptions`) apply to the file it opens.
 */
export interface RegistryOptions extends DatabaseFileOptions {
  /**
   * A store already open, e.g. PostgreSQL's (`openPostgres` in `@agent-comm/postgres`); the registry closes
   * it on close. Give either this or `spool` / `path`; the SQLite file options do not apply.
   */
  store?: RegistryStore
  /**
   * The spool whose database the registry shares: on SQLite, its connection and file (through
   * `spool.openShared`), so one connection and one file serve both; closing the registry leaves them open.
   * A spool on another store is refused: open that store's registry (e.g. `openPostgres` in
   * `@agent-comm/postgres`) and pass `store`.
   */
  spool?: Spool
  /** A SQLite file to open (created with its folder if missing) when neither `store` nor `spool` is given. */
  path?: string
  /** Where "now" comes from for `lastSeen` and presence (the system clock); a `ManualClock` in tests. */
  clock?: Clock
  /** How long after it was last seen an agent stays `active`, in ms (5 minutes). */
  activeWindowMs?: number
  /** How long after it was last seen an agent counts as `offline`, in ms (24 hours). */
  offlineAfterMs?: number
  /** How long a write waits for another process's lock, in ms, when the registry opens `path` (10 000). */
  busyTimeoutMs?: number
  /**
   * Which registering agents are given the held `*` / `capability:<name>` messages they match (see the
   * spool's `hold`): `sqlite-agents` (default), the agents that receive through this database, or
   * `all-agents`, for a relay, whose database holds the deliveries of every agent registered with it.
   */
  releaseHeldTo?: 'sqlite-agents' | 'all-agents'
}

const DurationSchema = lazySchema(() =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .positive('must be positive'),
)

/** The timing options, checked once at open. */
export const RegistryTimingSchema = lazySchema(() =>
  z
    .object({
      activeWindowMs: DurationSchema.default(DEFAULT_ACTIVE_WINDOW_MS),
      offlineAfterMs: DurationSchema.default(DEFAULT_OFFLINE_AFTER_MS),
    })
    .refine((t) => t.offlineAfterMs > t.activeWindowMs, {
      path: ['offlineAfterMs'],
      message: 'must be longer than activeWindowMs',
    }),
)

/** Schema of {@link ListFilter}; unknown keys are refused so a misspelt filter does not match everything. */
export const ListFilterSchema = lazySchema(() =>
  z.strictObject({
    /** Only agents that have this capability. */
    capability: CapabilitySchema.optional(),
    /** Only agents whose derived status is this. */
    status: AgentStatusSchema.optional(),
    /** Only agents on this device. */
    device: freeText().min(1, 'must not be empty').optional(),
    /** Only agents reached over this transport. */
    transport: TransportKindSchema.optional(),
  }),
)

/** Filters of `Registry.list`; every filter given must match. */
export type ListFilter = z.input<typeof ListFilterSchema>
