import { createRequire } from 'node:module'
import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { RelayClient } from '@agent-comm/transport-http'
import { afterAll, describe, expect, it } from 'vitest'
import { createRelayLogger, type NonceStore, relayConfig, startRelay } from '../src/index.js'
import { onCleanup, startTestRelay, type TestRelay, tempDir } from './helpers.js'

// The conversation route reads a thread in a fixed number of statements however long it is: no query per
// message (for its deliveries, its visibility or its sender). Statements are counted at the driver, as
// bench/round-trips.mjs counts them, while one GET /conversations/:id runs.

/** Nonces in memory: a group commit on the spool's file would add statements whenever it happened to run. */
class MemoryNonces implements NonceStore {
  readonly #seen = new Set<string>()
  remember(agentId: string, nonce: string): boolean {
    const key = `${agentId}\u0000${nonce}`
    if (this.#seen.has(key)) return false
    this.#seen.add(key)
    return true
  }
  prune(): number {
    return 0
  }
  flush(): void {}
  close(): void {}
}

const SIZES = [1, 40] as const

/** Sends `count` messages from architect to builder in the thread `conversationId`, through the spool. */
async function thread(relay: TestRelay, conversationId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const from = i % 2 === 0 ? 'architect' : 'builder'
    const to = from === 'architect' ? 'builder' : 'architect'
    const message = createMessage({
      fromAgent: from,
      toAgent: to,
      subject: `Step ${i}`,
      body: 'x',
      routing: { conversationId },
    })
    await relay.spool.send(message)
  }
}

describe('the conversation route on SQLite', () => {
  it('reads a thread of 40 messages in as many statements as a thread of one, for an agent and for the admin', async () => {
    const relay = await startTestRelay({
      listen: false,
      nonces: new MemoryNonces(),
      options: { console: { enabled: false } },
    })
    for (const size of SIZES) await thread(relay, `thread-${size}`, size)
    // Every statement better-sqlite3 runs on the spool's connection while counting is on.
    const db = sqliteConnectionOf(relay.spool)
    const statement = Object.getPrototypeOf(db.prepare('SELECT 1')) as Record<string, unknown>
    let counted = 0
    let counting = false
    for (const method of ['all', 'get', 'run', 'iterate'] as const) {
      const original = statement[method] as (...args: unknown[]) => unknown
      statement[method] = function (this: unknown, ...args: unknown[]) {
        if (counting) counted++
        return original.apply(this, args)
      }
      onCleanup(() => {
        statement[method] = original
      })
    }
    const statementsFor = async (agentId: string, conversationId: string, expected: number) => {
      counted = 0
      counting = true
      const response = await relay.signed(agentId, 'GET', `/api/v1/conversations/${conversationId}`)
      counting = false
      expect(response.statusCode).toBe(200)
      expect((response.json() as { messages: unknown[] }).messages).toHaveLength(expected)
      return counted
    }
    for (const agentId of ['builder', 'admin']) {
      // A first request of each agent records its presence; the counted ones come after it.
      await statementsFor(agentId, 'thread-1', 1)
      const counts = []
      for (const size of SIZES) counts.push(await statementsFor(agentId, `thread-${size}`, size))
      expect(counts[0]).toBeGreaterThan(0)
      expect(counts[1]).toBe(counts[0])
    }
  })
})

const db: TestDatabase = await createTestDatabase({ name: 'relay_conversation' })
afterAll(async () => {
  await db.drop()
})

describe.skipIf(db.kind !== 'server')('the conversation route on PostgreSQL', () => {
  it('reads a thread of 40 messages with as many statements on messages and deliveries as a thread of one', async () => {
    const pg = createRequire(import.meta.resolve('@agent-comm/postgres'))('pg') as {
      Client: { prototype: { query: (...args: unknown[]) => unknown } }
    }
    const relay = await startRelay(
      relayConfig({
        dataDir: tempDir(),
        port: 0,
        databaseUrl: db.url,
        secretsKey: RelaySecretsKey.generate().toBase64(),
        rateLimitPerMinute: 0,
      }),
      { logger: createRelayLogger({ level: 'silent' }) },
    )
    onCleanup(() => relay.close())
    const secrets: Record<string, string> = {}
    for (const id of ['architect', 'builder']) secrets[id] = (await relay.secrets.generate(id)).secret
    const client = new RelayClient({ baseUrl: relay.url, secretFor: (id) => secrets[id], coalesce: false })
    onCleanup(() => client.close())
    for (const size of SIZES) {
      for (let i = 0; i < size; i++) {
        const message = createMessage({
          fromAgent: 'architect',
          toAgent: 'builder',
          subject: `Step ${i}`,
          body: 'x',
          routing: { conversationId: `thread-${size}` },
        })
        await client.send(message)
      }
    }
    // Only the statements on the spool's tables, counted by their text: nonces, presence and change
    // notifications run on their own schedule, and so does the console's approval-deadline sweep (every 5 s,
    // reading pending deliveries), which on a loaded machine can land inside either request. A query per
    // message would run its text once for the one-message thread and 40 times for the long one.
    let counting = false
    let counted = new Map<string, number>()
    const original = pg.Client.prototype.query
    pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0] as string | { text?: string }
      const text = typeof config === 'string' ? config : (config.text ?? '')
      if (counting && /\.(messages|deliveries)\b/.test(text)) counted.set(text, (counted.get(text) ?? 0) + 1)
      return original.apply(this, args)
    }
    onCleanup(() => {
      pg.Client.prototype.query = original
    })
    const counts: Map<string, number>[] = []
    for (const size of SIZES) {
      counted = new Map()
      counting = true
      const messages = await client.conversation(`thread-${size}`, { as: 'builder' })
      counting = false
      expect(messages).toHaveLength(size)
      counts.push(counted)
    }
    const [short, long] = counts as [Map<string, number>, Map<string, number>]
    expect(short.size).toBeGreaterThan(0)
    // Every statement both reads ran, they ran as often; a statement only one of them ran is a background
    // one that happened to land in it, once.
    for (const [text, times] of short) {
      if (long.has(text)) expect({ text, times: long.get(text) }).toEqual({ text, times })
      else expect({ text, times }).toEqual({ text, times: 1 })
    }
    for (const [text, times] of long)
      if (!short.has(text)) expect({ text, times }).toEqual({ text, times: 1 })
  })
})
