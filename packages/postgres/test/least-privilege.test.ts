import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'

// A DBA's least-privilege set-up: the application's role may not create schemas in the database (PostgreSQL
// 15 grants no one CREATE on a database but its owner), and is given a schema of its own, or the rights on
// one, instead. Roles are server-wide, so these tests need a server (PGlite has a single user).
const db = await createTestDatabase({ name: 'least_privilege', logger: reportSkipped('least-privilege') })
const role = `agent_comm_t_app_${randomBytes(4).toString('hex')}`
const admin = db.client()

afterAll(async () => {
  if (db.kind === 'server') {
    await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined) // the role may not exist yet
    await db.drop()
    await dropRole()
  } else await db.drop()
})

async function dropRole(): Promise<void> {
  const { createNodePostgresClient } = await import('../src/index.js')
  const server = new URL(db.url)
  server.pathname = '/postgres'
  const client = createNodePostgresClient({ url: server.toString() })
  try {
    await client.query(`DROP ROLE IF EXISTS ${role}`)
  } finally {
    await client.end()
  }
}

/** The test database's URL, connecting as the application's role. */
function asApp(): string {
  const url = new URL(db.url)
  url.username = role
  url.password = ''
  return url.toString()
}

async function roundTrip(schema: string): Promise<void> {
  const opened = await openPostgres({ url: asApp(), schema })
  try {
    await opened.registry.register({ agentId: 'architect' })
    await opened.registry.register({ agentId: 'builder' })
    const sent = await opened.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'hello' })
    const [claimed] = await opened.spool.claim('builder')
    expect(claimed?.message.id).toBe(sent.messageId)
    const acked = await opened.spool.ack(sent.messageId, 'builder', { receipt: claimed?.lease.receipt })
    expect(acked.status).toBe('acked')
  } finally {
    await opened.close()
  }
}

describe.runIf(db.kind === 'server')('a role without the right to create schemas', () => {
  beforeAll(() => admin.query(`CREATE ROLE ${role} LOGIN`))

  it('cannot open a schema nobody made for it, and is told which rights to ask for', async () => {
    const opened = openPostgres({ url: asApp(), schema: 'not_granted' })
    await expect(opened).rejects.toMatchObject({
      code: 'STORAGE',
      hint: expect.stringContaining('CREATE SCHEMA agent_comm AUTHORIZATION <user>'),
    })
  })

  it('opens, migrates and uses a schema a DBA created for it', async () => {
    await admin.query(`CREATE SCHEMA app_owned AUTHORIZATION ${role}`)
    await roundTrip('app_owned')
    // and opens it again, migrated
    await roundTrip('app_owned')
  })

  it('opens, migrates and uses a schema on which it was granted USAGE and CREATE', async () => {
    await admin.query('CREATE SCHEMA app_granted')
    await admin.query(`GRANT USAGE, CREATE ON SCHEMA app_granted TO ${role}`)
    await roundTrip('app_granted')
  })
})
