import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Claimed, ok, onCleanup, stdioClient } from './helpers.js'

// The server opens a PostgreSQL URL with node-postgres, so these tests need a server: with none, and not in
// CI, they are skipped (PGlite has no URL a child process could open); in CI a missing server fails them.
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

describe.skipIf(!hasServer)('agent-comm-mcp on a PostgreSQL URL (needs a PostgreSQL server)', () => {
  let db: TestDatabase
  /** The test database's URL with a password in it (the server trusts local users and ignores it). */
  let url: string
  const password = 'not-to-be-printed'

  beforeAll(async () => {
    db = await createTestDatabase({ name: 'mcp' })
    const withPassword = new URL(db.url)
    withPassword.password = password
    url = withPassword.toString()
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('registers, sends, polls (woken by another process) and acks over stdio with AGENT_COMM_DB_PATH', async () => {
    const env = { AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'stdio_env', AGENT_COMM_LOG_LEVEL: 'debug' }
    const { client, stderr } = await stdioClient(env)
    await ok(client, 'comm_register_agent', { agent_id: 'builder', capabilities: ['code'] })

    // Another process on the same database: the architect, with the library.
    const architect = await createCoordinator(loadConfig(env))
    onCleanup(() => architect.close())
    await architect.register({ agentId: 'architect' })
    const polling = ok<{ messages: Claimed[] }>(client, 'comm_poll', {
      agent_id: 'builder',
      wait_seconds: 60,
    })
    await architect.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'from afar' })
    const [claimed] = (await polling).messages
    expect(claimed!.message.body).toBe('from afar')
    await ok(client, 'comm_reply', { message_id: claimed!.message.id, body: 'got it' })
    await ok(client, 'comm_ack', {
      message_id: claimed!.message.id,
      agent_id: 'builder',
      receipt: claimed!.lease.receipt,
    })
    // Waits rather than peeks: the two processes' server-clock estimates may differ by a few hundred ms,
    // so the reply can be claimable for the architect a moment after it was sent.
    const [answer] = await architect.poll('architect', { waitMs: 10_000 })
    expect(answer!.message).toMatchObject({ body: 'got it', subject: 'Re: Task' })
    expect((await architect.status(claimed!.message.id)).deliveries[0]!.status).toBe('acked')
    expect(architect.storage.spool).toBe('postgres')

    // The debug setup line names the database without its password.
    await expect.poll(() => stderr()).toContain(db.url)
    expect(stderr()).not.toContain(password)
  })

  it('notifies a client subscribed to an inbox when another process sends to that agent', async () => {
    const env = { AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'subscriptions' }
    const { client } = await stdioClient(env)
    await ok(client, 'comm_register_agent', { agent_id: 'builder' })
    const updated: string[] = []
    let notified: () => void = () => {}
    const arrived = new Promise<void>((resolve) => {
      notified = resolve
    })
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updated.push(notification.params.uri)
      notified()
    })
    await client.subscribeResource({ uri: 'agent-comm://inbox/builder' })

    // Another process on the same database (the library, on a pool of its own) sends to the builder.
    const architect = await createCoordinator(loadConfig(env))
    onCleanup(() => architect.close())
    await architect.register({ agentId: 'architect' })
    await architect.send({ fromAgent: 'architect', toAgent: 'builder', body: 'news from afar' })
    await arrived
    expect(updated).toEqual(['agent-comm://inbox/builder'])
    const read = await client.readResource({ uri: 'agent-comm://inbox/builder' })
    const inbox = JSON.parse((read.contents[0] as { text: string }).text) as {
      messages: { message: { body: string } }[]
    }
    expect(inbox.messages.map((m) => m.message.body)).toEqual(['news from afar'])
  })

  it('takes the URL from --db as it is', async () => {
    const { client } = await stdioClient({ AGENT_COMM_PG_SCHEMA: 'stdio_flag' }, ['--db', url])
    await ok(client, 'comm_register_agent', { agent_id: 'solo' })
    await ok(client, 'comm_send', { from_agent: 'solo', to_agent: 'solo', body: 'note to self' })
    const { messages } = await ok<{ messages: Claimed[] }>(client, 'comm_poll', { agent_id: 'solo' })
    expect(messages.map((m) => m.message.body)).toEqual(['note to self'])
    const pool = db.client()
    const [row] = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM stdio_flag.agents')
    expect(row!.n).toBe(1)
  })
})
