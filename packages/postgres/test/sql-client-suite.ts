import { StorageError } from '@agent-comm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SqlClient } from '../src/client.js'
import { sqlStateOf } from '../src/index.js'

/** What the shared suite needs from one adapter under test. */
export interface SqlClientFixture {
  /** The client under test. */
  client: SqlClient
  /** A client on another connection to the same database (PGlite: the same single connection). */
  other: SqlClient
  /** Ends both clients and drops the database. */
  close(): Promise<void>
}

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Every SqlClient adapter must pass this suite (River's shape: one driver suite, every driver). */
export function sqlClientSuite(
  name: string,
  { server, open }: { server: boolean; open: () => Promise<SqlClientFixture> },
): void {
  describe(`${name} SqlClient`, () => {
    let f: SqlClientFixture
    beforeAll(async () => {
      f = await open()
      await f.client.query(
        'CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL, at bigint NOT NULL)',
      )
    })
    afterAll(async () => {
      await f?.close()
    })

    it('runs a statement with positional parameters and returns rows as objects', async () => {
      const rows = await f.client.query<{ label: string; doubled: number }>(
        'SELECT $1::text AS label, $2::int * 2 AS doubled',
        ['hello', 21],
      )
      expect(rows).toEqual([{ label: 'hello', doubled: 42 }])
    })

    it('returns int8 values (bigint columns, count(*)) as JS numbers', async () => {
      const at = 1_764_390_000_123
      await f.client.query('INSERT INTO items (label, at) VALUES ($1, $2)', ['int8', at])
      const [row] = await f.client.query<{ at: unknown; id: unknown; n: unknown }>(
        `SELECT at, id, (SELECT count(*) FROM items) AS n FROM items WHERE label = 'int8'`,
      )
      expect(row?.at).toBe(at)
      expect(typeof row?.id).toBe('number')
      expect(typeof row?.n).toBe('number')
    })

    it('returns no rows for a statement without RETURNING', async () => {
      expect(await f.client.query('UPDATE items SET at = at WHERE false')).toEqual([])
    })

    it('commits a transaction whose function resolves, and returns its value', async () => {
      const value = await f.client.transaction(async (tx) => {
        await tx.query('INSERT INTO items (label, at) VALUES ($1, 1)', ['committed'])
        const [row] = await tx.query<{ n: number }>(
          `SELECT count(*) AS n FROM items WHERE label = 'committed'`,
        )
        return row?.n
      })
      expect(value).toBe(1)
      const seen = await f.other.query(`SELECT label FROM items WHERE label = 'committed'`)
      expect(seen).toHaveLength(1)
    })

    it('rolls a transaction back when its function throws, and rethrows the error', async () => {
      const boom = new Error('boom')
      await expect(
        f.client.transaction(async (tx) => {
          await tx.query('INSERT INTO items (label, at) VALUES ($1, 1)', ['rolled-back'])
          throw boom
        }),
      ).rejects.toBe(boom)
      expect(await f.client.query(`SELECT 1 FROM items WHERE label = 'rolled-back'`)).toEqual([])
    })

    it('rolls back on a failed statement with a StorageError carrying the SQLSTATE, and stays usable', async () => {
      const failure = await f.client
        .transaction(async (tx) => {
          await tx.query('INSERT INTO items (label, at) VALUES ($1, 1)', ['half-done'])
          await tx.query('INSERT INTO items (id, label, at) VALUES (1, $1, 1), (1, $1, 1)', ['dup'])
        })
        .catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StorageError)
      expect((failure as StorageError).details.reason).toBe('query-failed')
      expect(sqlStateOf(failure)).toBe('23505')
      expect(await f.client.query(`SELECT 1 FROM items WHERE label = 'half-done'`)).toEqual([])
      expect(await f.client.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }])
    })

    it('reports a syntax error as a StorageError with reason query-failed', async () => {
      const failure = await f.client.query('SELEC nonsense').catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StorageError)
      expect((failure as StorageError).details).toMatchObject({ reason: 'query-failed', sqlState: '42601' })
    })

    it('delivers a NOTIFY sent from another connection to a listener, keeping the channel case', async () => {
      const got = deferred<string>()
      const stop = await f.client.listen('Wake_Up', (payload) => got.resolve(payload))
      await f.other.query(`SELECT pg_notify('Wake_Up', 'builder')`)
      expect(await got.promise).toBe('builder')
      await stop()
    })

    it('delivers NOTIFYs sent inside a transaction once it commits', async () => {
      const got = deferred<string>()
      const stop = await f.client.listen('tx_wake', (payload) => got.resolve(payload))
      await f.other.transaction(async (tx) => {
        await tx.query(`SELECT pg_notify('tx_wake', 'after-commit')`)
      })
      expect(await got.promise).toBe('after-commit')
      await stop()
    })

    // PGlite is one in-process connection: nothing can cut it, so these apply to servers only.
    if (!server) return

    it('listens again after the listening backend is terminated, calls onReconnect, and receives later NOTIFYs', async () => {
      const reconnected = deferred<void>()
      const payloads: string[] = []
      let got = deferred<string>()
      const stop = await f.client.listen(
        'survivor',
        (payload) => {
          payloads.push(payload)
          got.resolve(payload)
        },
        () => reconnected.resolve(),
      )
      await f.other.query(`SELECT pg_notify('survivor', 'before')`)
      expect(await got.promise).toBe('before')
      const killed = await f.other.query<{ done: boolean }>(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = 'LISTEN "survivor"'`,
      )
      expect(killed).toEqual([{ done: true }])
      await reconnected.promise
      got = deferred<string>()
      await f.other.query(`SELECT pg_notify('survivor', 'after')`)
      expect(await got.promise).toBe('after')
      expect(payloads).toEqual(['before', 'after'])
      await stop()
    })

    it('fails a query whose connection the server killed with a connection-lost StorageError, then works on retry', async () => {
      const marker = `sleep_${Date.now()}`
      const sleeping = f.client
        .query(`SELECT pg_sleep(600), '${marker}' AS marker`)
        .catch((error: unknown) => error)
      // Wait for the statement to be running on the server, then end its backend from another connection.
      await expect
        .poll(
          async () =>
            (
              await f.other.query<{ done: boolean }>(
                `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1`,
                [`%'${marker}'%`],
              )
            ).length,
        )
        .toBe(1)
      const failure = await sleeping
      expect(failure).toBeInstanceOf(StorageError)
      expect((failure as StorageError).details.reason).toBe('connection-lost')
      expect(await f.client.query('SELECT 2 AS ok')).toEqual([{ ok: 2 }])
    })

    it('fails a transaction whose connection the server killed, then runs the next one', async () => {
      const marker = `tx_${Date.now()}`
      const running = f.client
        .transaction(async (tx) => {
          await tx.query('INSERT INTO items (label, at) VALUES ($1, 1)', [marker])
          await tx.query(`SELECT pg_sleep(600), '${marker}' AS marker`)
        })
        .catch((error: unknown) => error)
      await expect
        .poll(
          async () =>
            (
              await f.other.query(
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1`,
                [`%pg_sleep(600), '${marker}'%`],
              )
            ).length,
        )
        .toBe(1)
      const failure = await running
      expect(failure).toBeInstanceOf(StorageError)
      expect((failure as StorageError).details.reason).toBe('connection-lost')
      expect(await f.client.query('SELECT 1 FROM items WHERE label = $1', [marker])).toEqual([])
      const value = await f.client.transaction(
        async (tx) => (await tx.query<{ ok: number }>('SELECT 3 AS ok'))[0]?.ok,
      )
      expect(value).toBe(3)
    })
  })
}
