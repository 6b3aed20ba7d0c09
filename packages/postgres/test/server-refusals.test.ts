import { randomBytes } from 'node:crypto'
import { type Logger, StorageError } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createNodePostgresClient, openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { recordingLogger } from './recording-logger.js'
import { tcpProxy } from './tcp-proxy.js'

/**
 * What a DBA's or a failover's settings do to agent-comm's sessions, each set on this file's own database
 * or role (never on the shared server): a database that turned read-only (a standby, before and after a
 * failover), sessions ended by `idle_session_timeout` and `idle_in_transaction_session_timeout`, and no
 * connection left (`CONNECTION LIMIT`, the error `max_connections` gives too).
 */
const db = await createTestDatabase({
  name: 'server_refusals',
  logger: reportSkipped('server-refusals.test.ts (database and role settings)'),
})
const role = `agent_comm_t_limited_${randomBytes(4).toString('hex')}`
const admin = db.client()
const { onCleanup } = testCleanups('agent-comm-postgres-test-')

afterEach(async () => {
  if (db.kind === 'server') await admin.query(`ALTER DATABASE ${await database()} RESET ALL`)
})
afterAll(async () => {
  if (db.kind === 'server') {
    await db.drop()
    const server = new URL(db.url)
    server.pathname = '/postgres'
    const client = createNodePostgresClient({ url: server.toString() })
    await client.query(`DROP ROLE IF EXISTS ${role}`).finally(() => client.end())
  } else await db.drop()
})

async function database(): Promise<string> {
  const [row] = await admin.query<{ name: string }>('SELECT current_database() AS name')
  return `"${row!.name}"`
}

/** Sets `setting` for every new session of the test database, as a DBA's ALTER DATABASE does. */
async function setForNewSessions(setting: string, value: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${await database()} SET ${setting} = '${value}'`)
}

async function openSpool(schema: string, options: { logger?: Logger } = {}): Promise<Spool> {
  const spool = await Spool.open({
    store: await openPostgresSpoolStore({ url: db.url, schema, poolSize: 1, ...options }),
  })
  onCleanup(() => spool.close())
  return spool
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

describe.skipIf(db.kind !== 'server')('PostgreSQL refusing or ending our sessions (needs a server)', () => {
  it('fails a write to a read-only server with reason read-only, worth retrying, and reaches the primary on the next call once it is one', async () => {
    await (await openSpool('failover')).close() // migrated while writable
    await setForNewSessions('default_transaction_read_only', 'on')
    // Every connection it opens now is to a "standby".
    const spool = await openSpool('failover')
    const keyed = failure(
      spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'keyed' }, { idempotencyKey: 'k-1' }),
    )
    expect(await keyed).toBeInstanceOf(StorageError)
    expect(await keyed).toMatchObject({
      transient: true,
      details: { reason: 'read-only', sqlState: '25006' },
      hint: expect.stringMatching(/standby.*retry/s),
    })
    expect(
      await failure(spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'plain' })),
    ).toMatchObject({
      details: { reason: 'read-only' },
    })

    // The failover: the address now leads to a writable server. The connection that met the standby was
    // dropped, so the next call reaches it, and nothing acknowledged was lost or doubled.
    await admin.query(`ALTER DATABASE ${await database()} RESET default_transaction_read_only`)
    const sent = await spool.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'keyed' },
      { idempotencyKey: 'k-1' },
    )
    expect(sent.duplicate).toBe(false)
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([sent.messageId])
  })

  it('survives idle_session_timeout ending its idle connections, and keeps its listening connection', async () => {
    await setForNewSessions('idle_session_timeout', '200ms')
    const { logger, messages, heard } = recordingLogger()
    const spool = await openSpool('idle_sessions', { logger })
    await spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'first' })
    await spool.claim('builder')
    // A consumer waits (its process LISTENs), until the server has ended the pool's idle connection.
    const waiting = spool.waitForMessages('builder', { timeoutMs: 60_000 })
    await heard(/idle PostgreSQL connection lost/)

    // The next call opens a new connection; the consumer is woken by another process's send.
    const other = await openSpool('idle_sessions')
    await other.send({ fromAgent: 'architect', toAgent: 'builder', body: 'wake up' })
    await expect(waiting).resolves.toBeTruthy()
    await spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'again' })
    // Its LISTEN connection, idle by design, was never ended by the server's timeout.
    expect(messages.filter((m) => /listener/.test(m))).toEqual([])
  })

  it('fails a transaction the server ended for idle_in_transaction_session_timeout with connection-lost, and the next call works', async () => {
    await setForNewSessions('idle_in_transaction_session_timeout', '100ms')
    const client = createNodePostgresClient({ url: db.url, poolSize: 1 })
    onCleanup(() => client.end())
    const error = await failure(
      client.transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        // Idle in the transaction until the server ends the session (a stalled process, a long pause).
        await expect
          .poll(
            async () =>
              (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [row!.pid])).length,
          )
          .toBe(0)
        await tx.query('SELECT 1')
      }),
    )
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ transient: true, details: { reason: 'connection-lost' } })
    expect(await client.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }])
  })

  it('tells a server with no connection left from one that is down, after retrying the refused connection', async () => {
    await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`)
    await admin.query(`GRANT ALL ON DATABASE ${await database()} TO ${role}`)
    const url = new URL(db.url)
    url.username = role
    const holder = new pg.Client({ connectionString: url.toString() })
    await holder.connect()
    let held = true
    onCleanup(async () => {
      if (held) await holder.end()
    })
    // Through a proxy that counts the connection attempts.
    const proxy = await tcpProxy()
    onCleanup(() => proxy.close())
    url.port = String(proxy.port)
    const client = createNodePostgresClient({ url: url.toString(), poolSize: 2 })
    onCleanup(() => client.end())

    const refused = await failure(client.query('SELECT 1'))
    expect(refused).toBeInstanceOf(StorageError)
    expect(refused).toMatchObject({
      transient: true,
      details: { reason: 'too-many-connections', sqlState: '53300' },
      hint: expect.stringMatching(/AGENT_COMM_PG_POOL_SIZE.*max_connections/s),
    })
    // Refused connections are tried again after a short wait (nothing was sent): once the other session
    // ends, while the call is still trying, it gets its connection.
    const before = 4 // the first call's attempts: one, and one after each of its three waits
    const pending = client.query<{ n: number }>('SELECT 1 AS n')
    await proxy.acceptedAtLeast(before + 2)
    held = false
    await holder.end()
    expect(await pending).toEqual([{ n: 1 }])
  })
})
