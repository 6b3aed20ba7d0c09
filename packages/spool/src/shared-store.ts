// The extension point for stores of other packages that keep their tables in the spool's own database
// (the registry, the A2A store, the relay's nonces and console): the spool hands its connection to the
// store's opener, and to nothing else, so no package outside a store ever holds a driver handle.
import { ValidationError } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * How a store of another package opens on a spool's database, one form per store kind, for
 * `spool.openShared(opener)`. Each form is handed the spool's live connection: it builds its store on it
 * and must not close it (closing the spool does). Stores offer their opener as a static
 * (`SqliteA2AStore.shared()`), so their callers never see the connection.
 */
export interface SharedStoreOpener<T> {
  /** What the opener opens, for the error on a spool whose store kind it has no form for ('the registry'). */
  readonly name: string
  /**
   * Opens the store on the spool's better-sqlite3 connection. The spool holds a write transaction open
   * across microtasks (its group commit), so the store must write through this connection, not a second
   * one of its own, and it works for `:memory:` spools too.
   */
  readonly sqlite?: (connection: BetterSqlite3.Database) => T
}

/** The `ValidationError` for a spool whose store kind `opener` has no form for. */
export function noSharedForm(opener: { name: string }, kind: string, location: string): ValidationError {
  const { name } = opener
  if (kind === 'sqlite') {
    return new ValidationError(
      `This spool is on the sqlite store (${location}), and ${name} has no form for it: open ${name} on a store of its own.`,
      [{ path: 'spool', message: `is on the sqlite store, which ${name} cannot share` }],
    )
  }
  return new ValidationError(
    `This spool is on the ${kind} store (${location}), not SQLite: ${name} cannot keep its tables in the spool's database. Open ${name} on that store itself (for PostgreSQL, from @agent-comm/postgres), or open the spool with a SQLite path.`,
    [{ path: 'spool', message: `is on the ${kind} store, not SQLite` }],
  )
}
