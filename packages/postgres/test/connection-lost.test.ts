import { isAgentCommError, StorageError } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '../src/testing.js'

/**
 * A pooled connection killed by the server (`pg_terminate_backend`: an administrator, a failover, an idle
 * timeout in a proxy) in the middle of an operation and while idle, with each driver the store runs on.
 */
const serverUp = await pgServerAvailable()
if (!serverUp && process.env.CI === 'true') {
  throw new Error('These tests need a PostgreSQL server in CI: start it or set AGENT_COMM_TEST_PG_URL')
}

/**
 * The store as a user opens it: from its URL, on the node-postgres pool it builds (the shipped driver;
 * postgres.js 3.4.9 failed this file — a CONNECT_TIMEOUT after its idle connections were terminated, then an
 * uncatchable TypeError in connection.js nextWrite, porsager/postgres#1154, #1208).
 */
const drivers: {
  name: string
  open(url: string, schema: string): Promise<{ spool: Spool; close(): Promise<void> }>
}[] = [
  {
    name: 'node-postgres (the store opened from its URL)',
    async open(url, schema) {
      const spool = await Spool.open({ store: await openPostgresSpoolStore({ url, schema, poolSize: 2 }) })
      return { spool, close: () => spool.close() }
    },
  },
]

describe.skipIf(!serverUp)(
  serverUp
    ? 'a connection PostgreSQL terminates'
    : 'a connection PostgreSQL terminates (skipped: no PostgreSQL server answers; set AGENT_COMM_TEST_PG_URL)',
  () => {
    let db: TestDatabase
    /** Looks at and terminates backends (outside any transaction: pg_stat_activity is frozen inside one). */
    let admin: pg.Client
    /** Holds the lock that stops an operation midway. */
    let locker: pg.Client
    let lockerPid: number

    beforeAll(async () => {
      db = await createTestDatabase({ name: 'connection_lost' })
      admin = new pg.Client({ connectionString: db.url })
      locker = new pg.Client({ connectionString: db.url })
      await Promise.all([admin.connect(), locker.connect()])
      lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    })
    afterAll(async () => {
      await Promise.all([admin?.end(), locker?.end()])
      await db?.drop()
    })

    /** The pid of a backend of the test database waiting for a lock, once there is one. */
    async function blockedBackend(not = 0): Promise<number> {
      let pid: number | undefined
      await expect
        .poll(async () => {
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid NOT IN (pg_backend_pid(), $1)`,
            [not],
          )
          pid = rows[0]?.pid
          return pid
        })
        .toBeDefined()
      return pid!
    }

    function expectStorageErrorWithHint(error: unknown): void {
      expect(error).toBeInstanceOf(StorageError)
      expect(isAgentCommError(error, 'STORAGE')).toBe(true)
      expect((error as StorageError).hint).toMatch(/\S/)
    }

    for (const [index, driver] of drivers.entries()) {
      it(`fails the operation with StorageError and a hint, and the next call works, on ${driver.name}`, async () => {
        const schema = `lost_${index}`
        const { spool, close } = await driver.open(db.url, schema)
        try {
          await spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'warm the pool' })
          // Hold the deliveries table so the next send stops inside its transaction, then kill its backend.
          await locker.query('BEGIN')
          await locker.query(`LOCK TABLE "${schema}".deliveries IN ACCESS EXCLUSIVE MODE`)
          const send = { id: `lost-${index}`, fromAgent: 'architect', toAgent: 'builder', body: 'cut off' }
          const pending = spool.send(send).then(
            () => undefined,
            (error: unknown) => error,
          )
          const pid = await blockedBackend()
          await admin.query('SELECT pg_terminate_backend($1)', [pid])
          // A send whose connection was lost runs once more (it may have committed): cut that one off too.
          await admin.query('SELECT pg_terminate_backend($1)', [await blockedBackend(pid)])
          const error = await pending
          await locker.query('ROLLBACK')
          expectStorageErrorWithHint(error)
          expect((error as StorageError).details).toMatchObject({ reason: 'connection-lost' })

          // The next call works, on a new connection; the cut-off send was rolled back, not half applied.
          expect(await spool.send(send)).toMatchObject({ duplicate: false, deliveries: 1 })

          // Idle pooled connections killed too: a call that meets a dead one fails as StorageError, and the
          // one after it works.
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)`,
            [lockerPid],
          )
          const first = await spool.claim('builder', { limit: 10 }).then(
            (claimed) => ({ claimed }),
            (error: unknown) => ({ error }),
          )
          if ('error' in first) expectStorageErrorWithHint(first.error)
          const claimed = 'claimed' in first ? first.claimed : await spool.claim('builder', { limit: 10 })
          expect(claimed.map((c) => c.message.id)).toContain(`lost-${index}`)
          await spool.ackBatch(
            claimed.map((c) => ({ messageId: c.message.id, agent: 'builder', receipt: c.lease.receipt })),
          )
          expect((await spool.stats()).deliveries).toMatchObject({ acked: 2, queued: 0, leased: 0 })
        } finally {
          await locker.query('ROLLBACK').catch(() => undefined)
          await close()
        }
      })
    }
  },
)
