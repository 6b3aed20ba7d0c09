import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteA2AStore } from '@agent-comm/a2a'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { consoleCopySection } from '@agent-comm/relay'
import { Spool } from '@agent-comm/spool'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, runCli } from './helpers.js'

// `agent-comm db copy` as a user runs it: a SQLite database holding every kind of row and state is copied
// to PostgreSQL and back, each table compared column by column, and the copy is used through the CLI.
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

const HOUR = 3_600_000

/** Ids of the fixture's messages, by the state their delivery is left in. */
interface Fixture {
  path: string
  ids: Record<
    | 'normal'
    | 'critical'
    | 'delayed'
    | 'leased'
    | 'acked'
    | 'dead'
    | 'expired'
    | 'broadcast'
    | 'held'
    | 'keyed',
    string
  >
  /** The receipt of the leased delivery, as its holder has it. */
  receipt: string
}

/**
 * A SQLite database with agents (every transport, an offline one), queued, critical, delayed, leased,
 * acked, dead-lettered, expired, broadcast and held messages, unicode payloads, an idempotency key on its
 * message and one kept aside after cleanup, and A2A rows. Written three hours in the past (a manual
 * clock), so that the expiring message is expired for the CLI, which runs on the real clock.
 */
async function buildFixture(dir: string): Promise<Fixture> {
  const path = join(dir, 'source.db')
  const clock = new ManualClock(Date.now() - 3 * HOUR)
  const spool = await Spool.open({ path, clock })
  const registry = await Registry.open({ spool, clock })
  // Not in alphabetical order: PostgreSQL lists agents by id, and nothing depends on the order.
  await registry.register({ agentId: 'sleeper', capabilities: [] })
  await registry.register({
    agentId: 'architect',
    capabilities: ['design', 'review'],
    metadata: { team: 'platform ✓' },
  })
  await registry.register({ agentId: 'builder', capabilities: ['code', 'review'], device: 'laptop-β' })
  await registry.register({
    agentId: 'remote',
    capabilities: ['research'],
    transport: 'http',
    relayUrl: 'https://relay.example/x',
  })
  await registry.setOffline('sleeper')
  const send = (body: string, extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}) =>
    spool.send({ fromAgent: 'architect', toAgent: 'builder', subject: `s: ${body}`, body, ...extra }, options)
  const normal = await send('normal 🎉 ünïcödé', {
    payload: { type: 'task_assignment', data: { files: ['a.ts'], emoji: '🧪', nested: { zh: '中文' } } },
    metadata: { note: 'ä', n: 1 },
  })
  const critical = await send('critical one', { priority: 'critical' })
  const delayed = await send('delayed', {}, { delaySeconds: 7 * 24 * 3600 })
  const leased = await spool.send({ fromAgent: 'builder', toAgent: 'reviewer', body: 'please review' })
  const acked = await spool.send({ fromAgent: 'builder', toAgent: 'archivist', body: 'file this' })
  const dead = await spool.send(
    { fromAgent: 'builder', toAgent: 'broken', body: 'will fail' },
    { maxAttempts: 2 },
  )
  const broadcast = await spool.send(
    { fromAgent: 'architect', toAgent: '*', body: 'all hands', routing: { replyTo: normal.messageId } },
    { recipients: ['builder', 'remote', 'sleeper'] },
  )
  const held = await spool.hold({ fromAgent: 'architect', toAgent: 'capability:deploy', body: 'ship it' })
  const keyed = await send('keyed send', {}, { idempotencyKey: 'order-42' })
  // A key whose message cleanup removed inside the key's window: kept aside in idempotency_keys.
  await spool.send(
    { fromAgent: 'architect', toAgent: 'courier', body: 'gone soon', routing: { ttlHours: 1 } },
    { idempotencyKey: 'order-7' },
  )
  const [lease] = await spool.claim('reviewer', { leaseSeconds: 7 * 24 * 3600 })
  const [toAck] = await spool.claim('archivist')
  await spool.ack(acked.messageId, 'archivist', { receipt: toAck!.lease.receipt })
  const [first] = await spool.claim('broken')
  await spool.nack(dead.messageId, 'broken', {
    reason: 'boom: ⚠ no such file',
    receipt: first!.lease.receipt,
    deadLetter: true,
  })
  clock.advance(90 * 60_000)
  await spool.cleanup()
  // Sent after the cleanup, expired by the time the CLI (on the real clock) reads it.
  const expired = await spool.send({
    fromAgent: 'architect',
    toAgent: 'courier',
    body: 'expires soon',
    routing: { ttlHours: 1 },
  })
  const a2a = spool.openShared(SqliteA2AStore.shared())
  const at = clock.now()
  a2a.insertToken({
    name: 'partner',
    tokenHash: 'f'.repeat(64),
    agents: ['builder'],
    createdAt: at,
    revokedAt: undefined,
  })
  a2a.insertTask(
    {
      id: 'task-1',
      caller: 'partner',
      agent: 'builder',
      contextId: 'ctx-1',
      messageId: normal.messageId,
      state: 'working',
      task: { id: 'task-1', status: { state: 'TASK_STATE_WORKING' }, note: 'ñ' },
      createdAt: at,
      updatedAt: at,
    },
    [{ statusUpdate: { taskId: 'task-1' } }],
    undefined,
    { caller: 'partner', messageId: 'caller-msg-1', taskId: 'task-1', digest: 'd'.repeat(64) },
  )
  // A decision made in the console (the audit log, as boolean `expired` and all) and its unsent answer.
  const db = sqliteConnectionOf(spool)
  consoleCopySection.migrateSqlite(db)
  db.prepare(
    `INSERT INTO console_audit (request_id, response_id, requester, question, action, decision, comment,
       decided_by, decided_at, arguments, expired) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    'req-1',
    'resp-1',
    'builder',
    'Deploy? ✓',
    'deploy',
    'approved',
    null,
    'person:ana',
    at,
    '{"env":"prod"}',
    1,
  )
  db.prepare('INSERT INTO console_outbox (request_id, message, created_at) VALUES (?, ?, ?)').run(
    'req-1',
    '{"id":"resp-1"}',
    at,
  )
  await registry.close()
  await spool.close()
  return {
    path,
    ids: {
      normal: normal.messageId,
      critical: critical.messageId,
      delayed: delayed.messageId,
      leased: leased.messageId,
      acked: acked.messageId,
      dead: dead.messageId,
      expired: expired.messageId,
      broadcast: broadcast.messageId,
      held: held.messageId,
      keyed: keyed.messageId,
    },
    receipt: lease!.lease.receipt,
  }
}

/**
 * Every row of every copied table of a SQLite file, every column, in the order rows were written. The
 * numbers a database gives rows itself (a message's `seq`, a delivery's id) are replaced by what they
 * name, so two files compare equal exactly when they hold the same data.
 */
async function tablesOf(path: string): Promise<Record<string, unknown[]>> {
  const spool = await Spool.open({ path, readonly: true })
  const db = sqliteConnectionOf(spool)
  try {
    const all = (sql: string): unknown[] => db.prepare(sql).all()
    const has = (table: string) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined
    const tables: Record<string, unknown[]> = {
      messages: all('SELECT * FROM messages ORDER BY seq').map((row) => {
        const { seq: _seq, ...rest } = row as Record<string, unknown>
        return rest
      }),
      deliveries: all(
        'SELECT m.id AS message, d.* FROM deliveries d JOIN messages m ON m.seq = d.message_seq ORDER BY d.id',
      ).map((row) => {
        const { id: _id, message_seq: _seq, ...rest } = row as Record<string, unknown>
        return rest
      }),
      idempotency_keys: all('SELECT * FROM idempotency_keys ORDER BY rowid'),
      // Agents and capabilities by key: PostgreSQL keeps no order of arrival for them, and none is needed
      // (`position` keeps each agent's order of capabilities).
      agents: all('SELECT * FROM agents ORDER BY agent_id'),
      agent_capabilities: all('SELECT * FROM agent_capabilities ORDER BY agent_id, position'),
    }
    for (const table of [
      'a2a_tokens',
      'a2a_tasks',
      'a2a_task_messages',
      'a2a_caller_messages',
      'a2a_events',
      'console_audit',
      'console_outbox',
    ]) {
      tables[table] = has(table) ? all(`SELECT * FROM ${table} ORDER BY rowid`) : []
    }
    return tables
  } finally {
    await spool.close()
  }
}

describe.skipIf(!hasServer)('agent-comm db copy (needs a PostgreSQL server)', () => {
  let pg: TestDatabase
  /** The test database's URL with a password (the server trusts local users and ignores it). */
  let url: string
  const password = 'never-printed-7f3a'
  let fixture: Fixture
  let dir: string

  beforeAll(async () => {
    pg = await createTestDatabase({ name: 'dbcopy' })
    const withPassword = new URL(pg.url)
    withPassword.password = password
    url = withPassword.toString()
    // One folder for the whole file (the helpers' tempDir is removed after each test).
    dir = mkdtempSync(join(tmpdir(), 'agent-comm-db-copy-'))
    fixture = await buildFixture(dir)
  })
  afterAll(async () => {
    await pg?.drop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd: dir, env: cleanEnv(env) })
  const onCopy = { AGENT_COMM_DB_PATH: '', AGENT_COMM_PG_SCHEMA: 'moved' }

  it('copies SQLite to PostgreSQL and back with every field of every row unchanged', async () => {
    const there = await cli([
      'db',
      'copy',
      '--db',
      fixture.path,
      '--to',
      url,
      '--to-schema',
      'moved',
      '--json',
    ])
    expect(there.stderr).toBe('')
    expect(there.code).toBe(0)
    expect(there.stdout).not.toContain(password)
    const report = JSON.parse(there.stdout) as {
      counts: {
        messages: number
        heldMessages: number
        deliveriesByStatus: Record<string, number>
        idempotencyKeys: number
        tables: Record<string, number>
      }
      verify: { ok: boolean }
      notCopied: string[]
    }
    expect(report.verify.ok).toBe(true)
    expect(report.counts).toMatchObject({
      messages: 10,
      heldMessages: 1,
      deliveriesByStatus: { queued: 8, leased: 1, acked: 1, failed: 1, expired: 0 },
      idempotencyKeys: 2,
      tables: {
        agents: 4,
        agent_capabilities: 5,
        a2a_tasks: 1,
        a2a_caller_messages: 1,
        a2a_tokens: 1,
        console_audit: 1,
        console_outbox: 1,
      },
    })
    expect(report.notCopied.join('\n')).toMatch(/relay gen-secret/)

    const back = join(dir, 'back.db')
    const home = await cli(['db', 'copy', '--to', back], { ...onCopy, AGENT_COMM_DB_PATH: url })
    expect(home.stderr).toBe('')
    expect(home.code).toBe(0)
    expect(home.stdout).toMatch(/^Copied postgres:\/\/\w+@.* \(schema moved\) to .*back\.db:/)
    expect(home.stdout).toMatch(/deliveries +11 \(queued 8, leased 1, acked 1, failed 1, expired 0\)/)
    expect(home.stdout).toMatch(/Verified the destination: ok/)
    expect(home.stdout).not.toContain(password)

    // And from one schema to another of the same database, then home again.
    const aside = await cli(['db', 'copy', '--to', url, '--to-schema', 'moved_again'], {
      ...onCopy,
      AGENT_COMM_DB_PATH: url,
    })
    expect(aside.stderr).toBe('')
    expect(aside.stdout).toMatch(/\(schema moved\) to postgres:.*\(schema moved_again\):/)
    const backAgain = join(dir, 'back-again.db')
    const home2 = await cli(['db', 'copy', '--to', backAgain], {
      AGENT_COMM_DB_PATH: url,
      AGENT_COMM_PG_SCHEMA: 'moved_again',
    })
    expect(home2.code).toBe(0)

    const before = await tablesOf(fixture.path)
    for (const copy of [back, backAgain]) {
      const after = await tablesOf(copy)
      for (const table of Object.keys(before)) {
        expect({ copy, table, rows: after[table] }).toEqual({ copy, table, rows: before[table] })
      }
    }
    // Both kinds of idempotency key made it: on its message's row, and kept aside after cleanup.
    expect(
      before.messages!.filter((m) => (m as { idempotency_key: unknown }).idempotency_key !== null),
    ).toHaveLength(1)
    expect(before.idempotency_keys).toHaveLength(1)
    expect(before.a2a_tasks).toHaveLength(1)
    expect(before.console_audit).toHaveLength(1)
  })

  it('behaves the same after the copy: claim order, leases, dead letters, keys, holds and search', async () => {
    const env = { ...onCopy, AGENT_COMM_DB_PATH: url }
    // Critical first, then oldest first; the delayed message and the other agents' deliveries stay.
    const polled = await cli(['poll', 'builder', '--limit', '10', '--json'], env)
    expect(polled.code).toBe(0)
    const claimed = (
      JSON.parse(polled.stdout) as { messages: { message: { id: string }; lease: { attempt: number } }[] }
    ).messages
    expect(claimed.map((c) => c.message.id)).toEqual([
      fixture.ids.critical,
      fixture.ids.normal,
      fixture.ids.broadcast,
      fixture.ids.keyed,
    ])
    expect(claimed.every((c) => c.lease.attempt === 1)).toBe(true)

    // The lease taken before the copy still holds: its holder acks with the receipt it was given.
    const acked = await cli(['ack', fixture.ids.leased, 'reviewer', '--receipt', fixture.receipt], env)
    expect(acked.stderr).toBe('')
    expect(acked.code).toBe(0)

    // The dead letter is listed and retried with fresh attempts.
    const failed = await cli(['failed', '--json'], env)
    expect(failed.stdout).toContain(fixture.ids.dead)
    expect((await cli(['retry', fixture.ids.dead, 'broken'], env)).code).toBe(0)
    const retried = await cli(['poll', 'broken', '--json'], env)
    const [again] = (JSON.parse(retried.stdout) as { messages: { message: { id: string } }[] }).messages
    expect(again?.message.id).toBe(fixture.ids.dead)

    // The idempotency keys still deduplicate: the one on its message (the same send again answers with the
    // first message; other content is refused) and the one kept aside after cleanup.
    const resend = (key: string, body: string) =>
      cli(['send', 'architect', 'builder', body, '-s', `s: ${body}`, '--idempotency-key', key, '--json'], env)
    const same = await resend('order-42', 'keyed send')
    expect(same.stderr).toBe('')
    expect(JSON.parse(same.stdout)).toMatchObject({
      messageId: fixture.ids.keyed,
      duplicate: true,
      deliveries: 0,
    })
    const other = await resend('order-42', 'other content')
    expect(other.code).toBe(4)
    expect(other.stdout).toMatch(/"code": "CONFLICT"/)
    const aside = await resend('order-7', 'gone soon')
    expect(aside.stderr).toBe('')
    expect(JSON.parse(aside.stdout)).toMatchObject({ duplicate: true, deliveries: 0 })

    // The held message is released to an agent that registers with the capability.
    expect((await cli(['register', 'deployer', '-c', 'deploy', '-d', 'ci'], env)).code).toBe(0)
    const deployer = await cli(['poll', 'deployer', '--json'], env)
    expect(deployer.stdout).toContain(fixture.ids.held)

    // Search finds the same messages as on the source.
    const search = async (extra: Record<string, string>) => {
      const run = await cli(['search', 'ünïcödé', '--json'], extra)
      expect(run.code).toBe(0)
      return (JSON.parse(run.stdout) as { messages: { id: string }[] }).messages.map((m) => m.id)
    }
    expect(await search(env)).toEqual([fixture.ids.normal])
    expect(await search({ AGENT_COMM_DB_PATH: fixture.path })).toEqual([fixture.ids.normal])
  })

  it('refuses a destination that holds agent-comm data, a missing source and the database itself, writing nothing', async () => {
    const full = await cli(['db', 'copy', '--db', fixture.path, '--to', url, '--to-schema', 'moved'])
    expect(full.code).not.toBe(0)
    expect(full.stderr).toMatch(/already holds agent-comm data/)
    expect(full.stderr).toMatch(/--to-schema/)
    expect(full.stderr).not.toContain(password)

    const missing = await cli(['db', 'copy', '--db', join(dir, 'nope.db'), '--to', join(dir, 'nope-copy.db')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^Error: No agent-comm database at .*nope\.db to copy/)
    expect(existsSync(join(dir, 'nope.db'))).toBe(false)
    expect(existsSync(join(dir, 'nope-copy.db'))).toBe(false)

    const self = await cli(['db', 'copy', '--db', fixture.path, '--to', fixture.path])
    expect(self.code).toBe(2)
    expect(self.stderr).toMatch(/same database/)

    // The same PostgreSQL database and schema under another name of its host: the server is asked who it is.
    const other = new URL(url)
    other.hostname = other.hostname === 'localhost' ? '127.0.0.1' : 'localhost'
    const onItself = await cli(['db', 'copy', '--db', url, '--to', other.toString()], {
      AGENT_COMM_PG_SCHEMA: 'moved',
    })
    expect(onItself.stderr).toMatch(/same database/)
    expect(onItself.stderr).not.toContain(password)
    expect(onItself.code).toBe(2)
  })

  it('counts without writing on --dry-run', async () => {
    const target = join(dir, 'dry.db')
    const dry = await cli(['db', 'copy', '--db', fixture.path, '--to', target, '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/^Would copy .*source\.db to .*dry\.db:/)
    expect(dry.stdout).toMatch(/messages +10 \(1 held/)
    expect(existsSync(target)).toBe(false)
  })

  it('copies a database of more rows than one batch holds, every row unchanged', async () => {
    // More messages and deliveries than the copy reads at once (COPY_BATCH_ROWS, 2,000), keys on some.
    const big = join(dir, 'big.db')
    const spool = await Spool.open({ path: big })
    const registry = await Registry.open({ spool })
    await registry.register({ agentId: 'architect', capabilities: ['design'] })
    const items = Array.from({ length: 4_321 }, (_, i) => ({
      message: { fromAgent: 'architect', toAgent: `agent-${i % 7}`, body: `message ${i} ✓` },
      options: i % 5 === 0 ? { idempotencyKey: `key-${i}` } : {},
    }))
    await spool.sendBatch(items)
    await registry.close()
    await spool.close()

    const there = await cli(['db', 'copy', '--db', big, '--to', url, '--to-schema', 'big', '--json'])
    expect(there.stderr).toBe('')
    const report = JSON.parse(there.stdout) as {
      counts: { messages: number; deliveries: number; idempotencyKeys: number }
      verify: { ok: boolean }
    }
    expect(report.counts).toMatchObject({ messages: 4_321, deliveries: 4_321, idempotencyKeys: 865 })
    expect(report.verify.ok).toBe(true)
    const back = join(dir, 'big-back.db')
    const home = await cli(['db', 'copy', '--to', back], {
      AGENT_COMM_DB_PATH: url,
      AGENT_COMM_PG_SCHEMA: 'big',
    })
    expect(home.stderr).toBe('')
    expect(home.stdout).toMatch(/messages +4321/)
    const before = await tablesOf(big)
    const after = await tablesOf(back)
    for (const table of Object.keys(before)) {
      expect({ table, rows: after[table] }).toEqual({ table, rows: before[table] })
    }
  })

  it('leaves the destination as it was when the copy fails midway', async () => {
    // A row PostgreSQL cannot hold (a NUL character in text), written after the messages: the copy fails
    // in its transaction, after much has been inserted.
    const broken = join(dir, 'broken.db')
    const copy = await cli(['db', 'copy', '--db', fixture.path, '--to', broken])
    expect(copy.code).toBe(0)
    const spool = await Spool.open({ path: broken })
    sqliteConnectionOf(spool)
      .prepare("UPDATE agents SET device = ? WHERE agent_id = 'sleeper'")
      .run('nul\u0000here')
    await spool.close()

    // Into a new schema: it is removed again.
    const fresh = await cli(['db', 'copy', '--db', broken, '--to', url, '--to-schema', 'failed_new'])
    expect(fresh.code).not.toBe(0)
    expect(fresh.stderr).toMatch(/^Error: /)
    expect(fresh.stderr).not.toContain(password)
    const [schema] = await pg
      .client()
      .query<{ n: number }>("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'failed_new'")
    expect(schema!.n).toBe(0)

    // Into an empty schema that was there: it stays empty.
    expect(
      (await cli(['stats', '--create'], { AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'failed_old' }))
        .code,
    ).toBe(0)
    const existing = await cli(['db', 'copy', '--db', broken, '--to', url, '--to-schema', 'failed_old'])
    expect(existing.code).not.toBe(0)
    const [rows] = await pg.client().query<{ n: number }>(
      `SELECT (SELECT count(*) FROM failed_old.messages) + (SELECT count(*) FROM failed_old.deliveries)
         + (SELECT count(*) FROM failed_old.agents) + (SELECT count(*) FROM failed_old.idempotency_keys) AS n`,
    )
    expect(Number(rows!.n)).toBe(0)
  })
})
