import postgres from 'postgres'
import type { SqlClient, SqlQueryable } from '../client.js'
import { isDriverError, toStorageError } from '../storage-error.js'

/** Options of {@link postgresJsClient}. */
export interface PostgresJsClientOptions {
  /** `postgres://user:password@host:port/database` (the password is never printed). */
  url: string
  /** Connections in the pool (default 10). The listening connection of `listen` is one more. */
  poolSize?: number
  /**
   * Prepare statements on each connection (default true: the stores run a small fixed set). Set false
   * behind a pooler in transaction mode (PgBouncer), which cannot keep prepared statements.
   */
  prepare?: boolean
  /** Seconds to wait for a connection before failing as `unreachable` (default 10). */
  connectTimeoutSeconds?: number
}

/** int8 (OID 20) as a JS number: every int8 the stores keep (ms times, sequence numbers) is below 2^53. */
const INT8_AS_NUMBER = {
  to: 20,
  from: [20],
  serialize: (value: number | bigint | string) => String(value),
  parse: (value: string) => Number(value),
}

/**
 * The {@link SqlClient} on postgres.js (the `postgres` package): a pool of `poolSize` connections,
 * transactions through `sql.begin`, and LISTEN on postgres.js's own dedicated connection, which LISTENs
 * again after a reconnect (and then calls `onReconnect`). Every driver error is thrown as a `StorageError`
 * (`details.reason` `'unreachable'`, `'connection-lost'`…) naming the server without its password.
 */
export function postgresJsClient(options: PostgresJsClientOptions): SqlClient {
  const { url } = options
  const prepare = options.prepare ?? true
  const sql = postgres(url, {
    max: options.poolSize ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    types: { bigint: INT8_AS_NUMBER },
    // Library code prints nothing: notices (e.g. "schema already exists, skipping") are dropped.
    onnotice: () => {},
    transform: { undefined: null },
  })
  const mapped = (error: unknown): unknown => (isDriverError(error) ? toStorageError(error, url) : error)
  const queryable = (runner: postgres.Sql | postgres.TransactionSql): SqlQueryable => ({
    async query<R extends Record<string, unknown>>(text: string, params: readonly unknown[] = []) {
      try {
        const rows = await runner.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare })
        return [...rows] as unknown as R[]
      } catch (error) {
        throw mapped(error)
      }
    },
  })
  return {
    ...queryable(sql),
    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      try {
        return (await sql.begin((tx) => fn(queryable(tx)))) as T
      } catch (error) {
        throw mapped(error)
      }
    },
    async listen(channel, onNotify, onReconnect) {
      let listening = false
      try {
        const meta = await sql.listen(channel, onNotify, () => {
          // postgres.js calls this after each LISTEN: the first time, and after every reconnect.
          if (listening) onReconnect?.()
          listening = true
        })
        return async () => {
          try {
            await meta.unlisten()
          } catch (error) {
            throw mapped(error)
          }
        }
      } catch (error) {
        throw mapped(error)
      }
    },
    async end() {
      try {
        await sql.end({ timeout: 5 })
      } catch (error) {
        throw mapped(error)
      }
    },
  }
}
