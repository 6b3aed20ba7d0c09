import type { Clock, IdGenerator, Logger } from '@agent-comm/protocol'
import { Registry, type RegistryOptions } from '@agent-comm/registry'
import { Spool, type SpoolOptions } from '@agent-comm/spool'
import { connectFromUrl } from './connect.js'
import { applyPostgresMigrations } from './migrate.js'
import { PostgresRegistryStore } from './registry-store.js'
import { DEFAULT_SCHEMA } from './schema.js'
import { ServerClock } from './server-clock.js'
import type { ClaimCommit } from './statements.js'
import { PostgresSpoolStore } from './store.js'

/** Options of {@link openPostgres}. */
export interface OpenPostgresOptions {
  /** `postgres://user:password@host:5432/database` (or `postgresql://`). Its password is never shown. */
  url: string
  /** The PostgreSQL schema holding every table (default `agent_comm`); created if missing. */
  schema?: string | undefined
  /** Most connections of the one pool the spool and the registry share (10). */
  poolSize?: number | undefined
  logger?: Logger | undefined
  /** How claims and acks commit: `durable` (default) or `relaxed` (see {@link ClaimCommit}). */
  claimCommit?: ClaimCommit | undefined
  /** One clock for the spool and the registry (the system clock). */
  clock?: Clock | undefined
  /** The spool's options besides its store (lease length, attempts, retry delays…). */
  spool?: (Omit<SpoolOptions, 'path' | 'store' | 'clock' | 'logger'> & { ids?: IdGenerator }) | undefined
  /** The registry's options besides its store (presence windows, `releaseHeldTo`). */
  registry?: Omit<RegistryOptions, 'store' | 'sqlite' | 'path' | 'clock'> | undefined
}

/** What {@link openPostgres} opens: a spool and a registry on one PostgreSQL pool. */
export interface PostgresDatabase {
  spool: Spool
  registry: Registry
  /** The URL without its password: safe to print. */
  location: string
  /** Closes the registry, then the spool, which ends the shared pool. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Opens agent-comm on PostgreSQL in one call, for composition roots (the coordinator, the CLI, the MCP
 * server): one connection pool, the migrations applied (spool and registry tables, under an advisory lock),
 * and a `Spool` and a `Registry` on it. The spool owns the pool: closing the spool ends it, so close the
 * registry first (or call `close()`, which does both in that order). Throws `ConfigError` for a bad URL,
 * pool size or schema name, `StorageError` when PostgreSQL cannot be reached, `SchemaVersionError` for a
 * schema written by a newer version.
 */
export async function openPostgres(options: OpenPostgresOptions): Promise<PostgresDatabase> {
  const { client, location } = connectFromUrl({
    url: options.url,
    poolSize: options.poolSize,
    logger: options.logger,
  })
  const schema = options.schema ?? DEFAULT_SCHEMA
  let spoolStore: PostgresSpoolStore | undefined
  let serverClock: ServerClock | undefined
  try {
    // Without a clock of the caller's, the spool and the registry read the server's (see ServerClock).
    if (options.clock === undefined) {
      serverClock = await ServerClock.start(client, { logger: options.logger })
    }
    spoolStore = new PostgresSpoolStore({
      client,
      schema,
      location,
      ownsClient: true,
      clock: serverClock,
      logger: options.logger,
      claimCommit: options.claimCommit,
    })
    await applyPostgresMigrations(client, spoolStore.schema)
    const registryStore = new PostgresRegistryStore({ client, schema, location, ownsClient: false })
    const clock = { clock: options.clock ?? (serverClock as ServerClock) }
    const spool = await Spool.open({
      ...options.spool,
      ...clock,
      // Spread over the caller's spool options: an absent logger keeps theirs.
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      store: spoolStore,
    })
    const registry = await Registry.open({ ...options.registry, ...clock, store: registryStore })
    let closed: Promise<void> | undefined
    return {
      spool,
      registry,
      location,
      close() {
        closed ??= registry.close().finally(() => spool.close())
        return closed
      },
    }
  } catch (error) {
    serverClock?.stop()
    if (spoolStore !== undefined) await spoolStore.close().catch(() => undefined)
    else await client.end().catch(() => undefined)
    throw error
  }
}
