import type { Clock, Logger } from '@agent-comm/protocol'
import { connectToSchema } from '../connect.js'
import { toStorageError } from '../drivers/driver-errors.js'
import { applyPostgresMigrations } from '../migrate.js'
import { type NonceCommit, PostgresNonceStore } from './nonce-store.js'
import { PostgresSecretStore } from './secret-store.js'
import type { RelaySecretsKey } from './secrets-key.js'

/** Options of {@link openPostgresRelayStores}. */
export interface OpenPostgresRelayStoresOptions {
  /** `postgres://user:password@host:5432/database`. */
  url: string
  /** The schema of the relay's spool (default `agent_comm`). */
  schema?: string
  /** Connections of this small pool of its own (4). */
  poolSize?: number
  /** The key agents' secrets are sealed under. */
  key: RelaySecretsKey
  /** The relay's auth window in ms (300 000): how long nonces are kept. */
  windowMs?: number
  /**
   * Whether recording a nonce waits for the WAL flush (`durable`) or not (`relaxed`, the default): see
   * `PostgresNonceStore` for exactly what `relaxed` keeps. Replays are refused across replicas either way.
   */
  nonceCommit?: NonceCommit
  clock?: Clock
  logger?: Logger
}

/** A relay replica's shared state besides the spool and the registry. */
export interface PostgresRelayStores {
  nonces: PostgresNonceStore
  secrets: PostgresSecretStore
  /** Where they are: the URL without its password. */
  location: string
  /** Resolves when the database answers a trivial query; rejects (`StorageError`) when it does not. */
  ping(): Promise<void>
  /** Stops listening and ends the pool. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Opens the relay's nonce and secret stores on PostgreSQL, on a small pool of their own, after applying
 * the migrations (the same ones as the spool's). Throws `ConfigError` for a bad URL or schema and for a
 * secrets key that is not the one the stored secrets were sealed with, `StorageError` when PostgreSQL
 * cannot be reached.
 */
export async function openPostgresRelayStores(
  options: OpenPostgresRelayStoresOptions,
): Promise<PostgresRelayStores> {
  const { client, location, schema } = connectToSchema(options, 4)
  const common = {
    client,
    schema,
    location,
    clock: options.clock,
    logger: options.logger,
  }
  let secrets: PostgresSecretStore | undefined
  try {
    await applyPostgresMigrations(client, schema)
    secrets = await PostgresSecretStore.open({ ...common, key: options.key })
    const nonces = await PostgresNonceStore.open({
      ...common,
      windowMs: options.windowMs,
      commit: options.nonceCommit,
    })
    const opened = secrets
    let closed: Promise<void> | undefined
    return {
      nonces,
      secrets: opened,
      location,
      async ping() {
        try {
          await client.query('SELECT 1')
        } catch (error) {
          throw toStorageError(error, location, 'ping')
        }
      },
      close() {
        closed ??= nonces
          .close()
          .then(() => opened.close())
          .finally(() => client.end())
        return closed
      },
    }
  } catch (error) {
    await secrets?.close().catch(() => undefined)
    await client.end().catch(() => undefined)
    throw error
  }
}
