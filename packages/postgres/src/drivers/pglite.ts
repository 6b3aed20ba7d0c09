import type { SqlClient, SqlQueryable } from '../client.js'
import { toStorageError } from './driver-errors.js'

/** The query method of a PGlite instance and of its transactions. */
export interface PgliteQueryable {
  query<R>(
    text: string,
    params?: unknown[],
    options?: { parsers?: Record<number, (value: string, typeId: number) => unknown> },
  ): Promise<{ rows: R[] }>
}

/**
 * The part of a PGlite instance (`@electric-sql/pglite`) this adapter uses, so the package does not
 * depend on PGlite's types: PGlite is a test fallback, not a runtime dependency.
 */
export interface PgliteLike extends PgliteQueryable {
  transaction<T>(fn: (tx: PgliteQueryable) => Promise<T>): Promise<T>
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

/** Options of {@link createPgliteClient}: an open PGlite instance, or where to create one. */
export type PgliteClientOptions =
  | { /** Used as is and left open by `end()`: its creator closes it. */ pglite: PgliteLike; dataDir?: never }
  | {
      pglite?: never /** A directory to keep the database in; in memory when absent. Closed by `end()`. */
      dataDir?: string
    }

const INT8_OID = 20
const parsers = { [INT8_OID]: (value: string) => Number(value) }
const PGLITE_URL = 'pglite://in-process'

/** One queue per PGlite instance: it is a single connection, so its users share one turn order. */
const turns = new WeakMap<PgliteLike, { tail: Promise<unknown> }>()

/**
 * A {@link SqlClient} on PGlite (PostgreSQL compiled to WebAssembly, in this process). PGlite is one
 * connection: statements and transactions take turns (a query issued while a transaction runs waits for
 * it), and `listen` never reconnects because nothing can cut the connection. Needs `@electric-sql/pglite`
 * installed when it creates the instance itself.
 */
export async function createPgliteClient(options: PgliteClientOptions = {}): Promise<SqlClient> {
  if (options.pglite !== undefined) return wrapPglite(options.pglite, false)
  const { PGlite } = await import('@electric-sql/pglite')
  // PGlite's own options: an absent dataDir (in memory) is not promised to equal an undefined one.
  const instance = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir })
  return wrapPglite(instance as unknown as PgliteLike, true)
}

/** A {@link SqlClient} on an open PGlite instance; `owned` says whether `end()` closes it. */
export function wrapPglite(pglite: PgliteLike, owned: boolean): SqlClient {
  let turn = turns.get(pglite)
  if (turn === undefined) {
    turn = { tail: Promise.resolve() }
    turns.set(pglite, turn)
  }
  const queue = turn
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.tail.then(fn, fn)
    queue.tail = run.catch(() => undefined) // the caller gets the failure; the queue just moves on
    return run
  }
  const run = async <R>(on: PgliteQueryable, text: string, params?: readonly unknown[]) => {
    try {
      const result = await on.query<R>(text, params === undefined ? undefined : [...params], { parsers })
      return result.rows
    } catch (error) {
      throw toStorageError(error, PGLITE_URL, 'query')
    }
  }
  const unlisteners = new Set<() => Promise<void>>()
  let ended = false

  return {
    query: <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
      inTurn(() => run<R>(pglite, text, params)),

    transaction: <T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> =>
      inTurn(() =>
        pglite.transaction((tx) =>
          fn({
            query: <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
              run<R>(tx, text, params),
          }),
        ),
      ),

    async listen(channel, onNotify) {
      // PGlite issues `LISTEN <channel>` itself; quoting keeps the channel's case as PostgreSQL's
      // pg_notify('<channel>') sends it.
      let unlisten: () => Promise<void>
      try {
        unlisten = await pglite.listen(`"${channel.replaceAll('"', '""')}"`, onNotify)
      } catch (error) {
        throw toStorageError(error, PGLITE_URL, 'LISTEN')
      }
      unlisteners.add(unlisten)
      return async () => {
        unlisteners.delete(unlisten)
        await unlisten()
      }
    },

    async end() {
      if (ended) return
      ended = true
      for (const unlisten of unlisteners) await unlisten()
      unlisteners.clear()
      if (owned) await pglite.close()
    },
  }
}
