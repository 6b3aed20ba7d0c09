/**
 * The few things the PostgreSQL stores need from a driver, so the same SQL runs on the shipped driver, on
 * the one it was measured against, and on PGlite (PostgreSQL in WebAssembly, the test fallback on a machine
 * without a server). Rows come back as plain objects keyed by column alias; `int8` / `bigint` values come
 * back as JS numbers (every one the stores keep — ms timestamps, sequence numbers — is below 2^53).
 * Parameters are positional (`$1`, `$2`…).
 */
export interface SqlQueryable {
  /** Runs one statement and returns its rows (none for a statement without RETURNING). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<R[]>
}

/** A pool of connections (or PGlite's single one). */
export interface SqlClient extends SqlQueryable {
  /**
   * Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws.
   * `unbounded`: its statements are not cut off by the client's `query_timeout` (a migration's index build on
   * a large table may legitimately run for minutes, and other processes wait on its lock as long).
   */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options?: { unbounded?: boolean }): Promise<T>
  /**
   * LISTENs on `channel` on a connection of its own, calling `onNotify` with each payload. After a lost
   * connection it reconnects, LISTENs again and calls `onReconnect` (notifications sent meanwhile are lost:
   * the caller re-checks). Resolves once listening; the returned function stops it.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>>
  /** Closes every connection. */
  end(): Promise<void>
}
