import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { RelayClient, signRequest } from '@agent-comm/transport-http'
import { afterAll, describe, expect, it } from 'vitest'
import { startPostgresReplica } from './helpers.js'

/**
 * A relay replica whose database address leads, for a while, to a read-only server: a standby during a
 * failover, before the address moves to the new primary. Made on this file's own database
 * (default_transaction_read_only for its new sessions, its relay's connections ended), never on the server.
 */
const db: TestDatabase = await createTestDatabase({ name: 'relay_standby' })
const admin = db.client()
afterAll(async () => {
  await db.drop()
})

async function databaseName(): Promise<string> {
  const [row] = await admin.query<{ name: string }>('SELECT current_database() AS name')
  return `"${row!.name}"`
}

/** Ends every other session of the test database: the relay's next connections are new ones. */
async function endOtherSessions(): Promise<void> {
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  )
}

describe.skipIf(db.kind !== 'server')(
  'a relay replica on a database that turned read-only (needs a server)',
  () => {
    it('answers a write 503 with Retry-After while the database is a standby, and stores the retried send once after the failover', async () => {
      const relay = await startPostgresReplica({
        url: db.url,
        schema: 'relay_standby',
        secretsKey: RelaySecretsKey.generate().toBase64(),
        config: { rateLimitPerMinute: 0 },
      })
      const secrets = {
        architect: (await relay.secrets.generate('architect')).secret,
        builder: (await relay.secrets.generate('builder')).secret,
      }
      const client = new RelayClient({
        baseUrl: relay.url,
        secretFor: (id) => secrets[id as keyof typeof secrets],
        retries: 0,
      })
      try {
        await client.register({ agentId: 'architect' })
        await client.register({ agentId: 'builder' })
        const message = createMessage({
          fromAgent: 'architect',
          toAgent: 'builder',
          body: 'through the failover',
        })
        const body = JSON.stringify({ message })
        const send = () =>
          fetch(`${relay.url}/api/v1/messages`, {
            method: 'POST',
            body,
            headers: {
              'content-type': 'application/json',
              ...signRequest(secrets.architect, {
                method: 'POST',
                path: '/api/v1/messages',
                body,
                agentId: 'architect',
                timestamp: Date.now(),
              }),
            },
          })

        await admin.query(`ALTER DATABASE ${await databaseName()} SET default_transaction_read_only = on`)
        await endOtherSessions()
        const refused = await send()
        expect(refused.status).toBe(503)
        expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(await refused.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } })

        // The failover completes: the address leads to a writable server again. The same relay, never
        // restarted, stores the retried send, and the builder gets it once.
        // Connections a write found read-only are dropped; a client retries a 503 until one reaches the primary.
        await admin.query(`ALTER DATABASE ${await databaseName()} RESET default_transaction_read_only`)
        await expect.poll(async () => (await send()).status).toBeLessThan(300)
        const claimed = await client.claim('builder', { limit: 10 })
        expect(claimed.map((c) => c.message.id)).toEqual([message.id])
      } finally {
        await client.close()
      }
    })
  },
)
