import type { Logger } from '@agent-comm/protocol'
import type { SqlClient } from './client.js'
import { connectFromUrl } from './connect.js'
import { applyPostgresMigrations, assertPostgresDatabaseExists } from './migrate.js'
import { DEFAULT_SCHEMA } from './schema.js'
import { ServerClock } from './server-clock.js'
import type { ClaimCommit } from './statements.js'
import { PostgresSpoolStore } from './store.js'

/**
 * Options of {@link openPostgresSpoolStore}: a `url` (the store makes a node-postgres pool and ends it on
 * `close()`) or a `client` (a {@link SqlClient} that stays the caller's).
 */
export type OpenPostgresSpoolStoreOptions = (
  | {
      /** `postgres://user:password@host:port/database`; the password is never shown or logged. */
      url: string
      client?: undefined
      /** Connections in the pool (default 10); the change feed's listening connection is one more. */
      poolSize?: number | undefined
      /**
       * Prepared statements (default true: ~3× the throughput of unprepared ones on send → claim → ack,
       * bench/drivers.bench.mjs). Set false behind PgBouncer in transaction mode, which cannot keep them.
       */
      prepare?: boolean | undefined
    }
  | {
      client: SqlClient
      url?: undefined
      /** Shown as the store's `location` (never a password); default `postgresql (client supplied)`. */
      location?: string | undefined
    }
) & {
  /** The PostgreSQL schema for the spool's tables (default `agent_comm`); created if missing (see `create`). */
  schema?: string | undefined
  /**
   * Create the schema and its tables when the schema holds no agent-comm database (default true). With
   * false that is a `StorageError` whose `details.reason` is `'missing'` (an existing one is still migrated).
   */
  create?: boolean | undefined
  logger?: Logger | undefined
  /** How claims and acks commit: `durable` (default) or `relaxed` (see {@link ClaimCommit}). */
  claimCommit?: ClaimCommit | undefined
}

/**
 * Opens the PostgreSQL spool store: connects (a node-postgres pool of `poolSize`, or the given client) and
 * applies the migrations the schema lacks, under an advisory lock so concurrent openers are safe. Throws
 * `SchemaVersionError` for a schema written by a newer version, `StorageError` when PostgreSQL cannot be
 * reached, `ConfigError` for a bad URL or schema name. A client passed in stays the caller's to end.
 */
export async function openPostgresSpoolStore(
  options: OpenPostgresSpoolStoreOptions,
): Promise<PostgresSpoolStore> {
  const schema = options.schema ?? DEFAULT_SCHEMA
  let client: SqlClient
  let location: string
  if (options.client !== undefined) {
    client = options.client
    location = options.location ?? 'postgresql (client supplied)'
  } else {
    ;({ client, location } = connectFromUrl({
      url: options.url,
      poolSize: options.poolSize,
      prepare: options.prepare,
      logger: options.logger,
    }))
  }
  const ownsClient = options.client === undefined
  let clock: ServerClock | undefined
  try {
    // The server's time for a spool given no clock of its own (see ServerClock).
    clock = await ServerClock.start(client, { logger: options.logger })
    const store = new PostgresSpoolStore({
      client,
      schema,
      location,
      ownsClient,
      clock,
      logger: options.logger,
      claimCommit: options.claimCommit,
    })
    if (options.create === false) await assertPostgresDatabaseExists(client, store.schema, location)
    await applyPostgresMigrations(client, store.schema)
    return store
  } catch (error) {
    clock?.stop()
    if (ownsClient) await client.end().catch(() => undefined)
    throw error
  }
}
