import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyPostgresMigrations, openPostgres, POSTGRES_MIGRATIONS_FOLDER } from '../src/index.js'
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

  it('is told to have the owner upgrade a schema an older version made, and works once the owner did', async () => {
    // The schema as a version without the newest migration left it, owned by the admin; the role may use
    // its tables (and, by default privileges, those added later) but not change them.
    const older = mkdtempSync(join(tmpdir(), 'agent-comm-older-migrations-'))
    try {
      cpSync(POSTGRES_MIGRATIONS_FOLDER, older, { recursive: true })
      const journalFile = join(older, 'meta', '_journal.json')
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: unknown[] }
      writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }))
      await applyPostgresMigrations(admin, 'app_upgraded', older)
    } finally {
      rmSync(older, { recursive: true, force: true })
    }
    await admin.query(`GRANT USAGE ON SCHEMA app_upgraded TO ${role}`)
    await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app_upgraded TO ${role}`)
    await admin.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA app_upgraded TO ${role}`)
    await admin.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA app_upgraded GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
    )
    await admin.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA app_upgraded GRANT USAGE, SELECT ON SEQUENCES TO ${role}`,
    )

    const refused = openPostgres({ url: asApp(), schema: 'app_upgraded' })
    await expect(refused).rejects.toMatchObject({
      code: 'SCHEMA_VERSION',
      message: expect.stringMatching(
        /^The spool schema 'app_upgraded' in this PostgreSQL database is older than this version of agent-comm \(it lacks 1 of \d+ migrations\), and this user may not upgrade it \(PostgreSQL query failed at .*: must be owner of table a2a_tasks\)$/,
      ),
      hint: expect.stringContaining("once as the schema's owner"),
      details: { schema: 'app_upgraded', missing: 1, reason: 'permission-denied' },
    })
    // The owner opens it once (any command would): the role can work in it again.
    await (await openPostgres({ url: db.url, schema: 'app_upgraded' })).close()
    await roundTrip('app_upgraded')
  })
})
