// Databases written by older agent-comm versions (test/fixtures/upgrade, see its README), opened by this one:
// nothing a team had waiting, leased, dead-lettered or held may be lost or read differently after an upgrade.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { ManualClock } from '@agent-comm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCoordinator, loadConfig } from '../src/index.js'
import { onCleanup, tempDir } from './helpers.js'

interface Fixture {
  /** File under test/fixtures/upgrade: `<name>.db.gz` (SQLite) or `<name>.sql` (a PostgreSQL schema). */
  name: string
  store: 'sqlite' | 'postgres'
  /** The last write the old version made (ms): the tests' clock starts a minute later. */
  writtenAt: number
  /** The receipt the old `poll tester` printed for T1, whose lease runs a day. */
  t1Receipt: string
  /** Whether the old version had idempotency keys (`send --idempotency-key order-42` made 'Keyed'). */
  keyed: boolean
}

const FIXTURES: Fixture[] = [
  // The end of round 1, before the PostgreSQL store: spool migrations 0000-0002, no idempotency keys.
  {
    name: 'round1-4ffc863',
    store: 'sqlite',
    writtenAt: 1796033477931,
    t1Receipt: 'dd85aeff82b2fc0c70e52574.13',
    keyed: false,
  },
  // 2026-11-29 evening: idempotency keys on their messages (0004), A2A and console in the relay.
  {
    name: 'b8bb9d5',
    store: 'sqlite',
    writtenAt: 1796033484948,
    t1Receipt: 'bde3a5a420459e3a67aa61ec.13',
    keyed: true,
  },
  // The same version on PostgreSQL (spool migrations 0000-0008 of @agent-comm/postgres).
  {
    name: 'b8bb9d5-postgres',
    store: 'postgres',
    writtenAt: 1796033538430,
    t1Receipt: 'eb98ee795b03d49b6b7fb7bd.13',
    keyed: true,
  },
]

// The PostgreSQL fixture needs a server (a coordinator opens a URL, which PGlite has not): without one, and
// not in CI, its tests are skipped; in CI a missing server fails them.
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())
let server: TestDatabase | undefined
let schemas = 0
beforeAll(async () => {
  if (hasServer) server = await createTestDatabase({ name: 'upgrade' })
})
afterAll(async () => {
  await server?.drop()
})

/** Runs the dump `<name>.sql` into a schema of its own; returns the schema. */
async function loadDump(db: TestDatabase, name: string): Promise<string> {
  const schema = `upgrade_${++schemas}`
  const script = readFileSync(join(FIXTURE_DIR, `${name}.sql`), 'utf8').replaceAll('upgrade_fixture', schema)
  const client = db.client()
  try {
    // pg_dump --inserts writes one statement per line group, each ending with ';' at a line's end.
    for (const statement of script.split(/;\s*$/m)) {
      if (statement.trim() !== '') await client.query(statement)
    }
  } finally {
    await client.end()
  }
  return schema
}

const FIXTURE_DIR = join(import.meta.dirname, 'fixtures', 'upgrade')

/** A coordinator on a fresh copy of `fixture`, its clock a minute after the old version's last write. */
async function openFixture(fixture: Fixture) {
  let env: Record<string, string>
  if (fixture.store === 'postgres') {
    if (server === undefined) throw new Error('no PostgreSQL server')
    env = { AGENT_COMM_DB_PATH: server.url, AGENT_COMM_PG_SCHEMA: await loadDump(server, fixture.name) }
  } else {
    const path = join(tempDir(), 'coordination.db')
    writeFileSync(path, gunzipSync(readFileSync(join(FIXTURE_DIR, `${fixture.name}.db.gz`))))
    env = { AGENT_COMM_DB_PATH: path }
  }
  const clock = new ManualClock(fixture.writtenAt + 60_000)
  const coord = await createCoordinator(loadConfig(env), { clock })
  onCleanup(() => coord.close())
  return { coord, clock }
}

describe.each(FIXTURES)('a database written by agent-comm at $name', (fixture) => {
  if (fixture.store === 'postgres' && !hasServer) {
    it.skip('needs a PostgreSQL server')
    return
  }

  it('is upgraded in place and passes the integrity checks', async () => {
    const { coord } = await openFixture(fixture)
    expect((await coord.verify()).ok).toBe(true)
    expect((await coord.stats()).deliveries).toEqual({
      queued: fixture.keyed ? 11 : 10,
      leased: 3,
      acked: 1,
      failed: 1,
      expired: 0,
    })
  })

  it('keeps every agent as registered, and not the one deregistered', async () => {
    const { coord } = await openFixture(fixture)
    const agents = await coord.agents()
    expect(agents.map((a) => [a.agentId, a.capabilities, a.device, a.transport, a.metadata])).toEqual([
      ['arch', ['plan', 'review'], 'laptop', 'sqlite', { team: 'core' }],
      ['builder', ['code', 'test'], 'server', 'sqlite', {}],
      ['tester', ['test'], 'ci', 'sqlite', {}],
    ])
  })

  it('hands out the waiting mail in the order the old version queued it, every field intact', async () => {
    const { coord } = await openFixture(fixture)
    const claimed = await coord.poll('builder', { limit: 50 })
    expect(claimed.map((c) => c.message.subject)).toEqual([
      'Crit',
      'High',
      'N1',
      'N2',
      'Re: Q',
      'Broadcast',
      'CapTest',
      ...(fixture.keyed ? ['Keyed'] : []),
      'Low',
    ])
    for (const c of claimed) expect(c.lease).toMatchObject({ attempt: 1, maxAttempts: 3 })
    const bySubject = new Map(claimed.map((c) => [c.message.subject, c.message]))
    expect(bySubject.get('Crit')).toMatchObject({
      fromAgent: 'arch',
      toAgent: 'builder',
      body: 'critical one',
      priority: 'critical',
    })
    expect(bySubject.get('N1')?.metadata).toEqual({ k: 1 })
    expect(bySubject.get('N2')?.payload).toEqual({
      type: 'task_assignment',
      data: { task: 'Implement auth', requirements: ['jwt'] },
    })
    expect(bySubject.get('Broadcast')?.toAgent).toBe('*')
    expect(bySubject.get('CapTest')?.toAgent).toBe('capability:test')
    // The reply still names the question and sits in its conversation.
    const reply = bySubject.get('Re: Q')
    const [question] = await coord.search({ text: 'question' })
    expect(reply?.routing.replyTo).toBe(question?.id)
    expect(reply?.routing.conversationId).toBe(question?.routing.conversationId)
    expect((await coord.conversation(reply!.routing.conversationId)).map((m) => m.body)).toEqual([
      'question?',
      'answer',
    ])
  })

  it('keeps a delayed message invisible until the time the old version gave it', async () => {
    const { coord, clock } = await openFixture(fixture)
    await coord.poll('builder', { limit: 50, leaseSeconds: 7200 })
    expect(await coord.poll('builder')).toEqual([])
    clock.advance(3_600_000)
    expect((await coord.poll('builder')).map((c) => c.message.subject)).toEqual(['Delayed'])
  })

  it('honours the leases the old version granted: not claimed again, and their receipts still ack', async () => {
    const { coord } = await openFixture(fixture)
    // T1, the broadcast and CapTest are leased for a day; T3 was handed back: only it is claimable, on its
    // second attempt, with the error it was handed back with.
    const claimed = await coord.poll('tester', { limit: 50 })
    expect(claimed.map((c) => [c.message.subject, c.lease.attempt])).toEqual([['T3', 2]])
    const [t1] = await coord.search({ text: 't1' })
    expect((await coord.status(t1!.id)).deliveries).toMatchObject([
      { recipient: 'tester', status: 'leased', attempt: 1 },
    ])
    await coord.ack(t1!.id, 'tester', { receipt: fixture.t1Receipt })
    expect((await coord.status(t1!.id)).deliveries).toMatchObject([{ status: 'acked' }])
  })

  it('keeps the dead letter with its error, and retries it with fresh attempts', async () => {
    const { coord } = await openFixture(fixture)
    const failed = await coord.listFailed()
    expect(
      failed.map((f) => [f.message.subject, f.delivery.recipient, f.delivery.attempt, f.delivery.lastError]),
    ).toEqual([['T2', 'tester', 1, 'boom: cannot parse']])
    expect(await coord.retryFailed(failed[0]!.message.id)).toEqual({ requeued: 1 })
    const claimed = await coord.poll('tester', { limit: 50 })
    expect(claimed.map((c) => [c.message.subject, c.lease.attempt])).toEqual([
      ['T2', 1],
      ['T3', 2],
    ])
  })

  it('releases the held capability message to an agent that registers after the upgrade', async () => {
    const { coord } = await openFixture(fixture)
    await coord.register({ agentId: 'deployer', capabilities: ['deploy'], device: 'prod' })
    const claimed = await coord.poll('deployer')
    expect(claimed.map((c) => [c.message.subject, c.message.toAgent, c.message.body])).toEqual([
      ['Held', 'capability:deploy', 'deploy when someone can'],
    ])
  })

  it.runIf(fixture.keyed)(
    'treats a send with an idempotency key used before the upgrade as its duplicate',
    async () => {
      const { coord } = await openFixture(fixture)
      const [keyed] = await coord.search({ text: 'keyed' })
      const retry = await coord.send(
        { fromAgent: 'arch', toAgent: 'builder', subject: 'Keyed', body: 'keyed' },
        { idempotencyKey: 'order-42' },
      )
      expect(retry).toMatchObject({ messageId: keyed?.id, duplicate: true, deliveries: 0 })
    },
  )
})
