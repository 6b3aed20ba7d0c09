import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PostgresSpoolStore } from '../src/index.js'
import { openPostgresSpoolStore } from '../src/index.js'
import { SEARCH_DOCUMENT } from '../src/schema.js'
import { createTestDatabase, openTestStore } from '../src/testing.js'
import { send, T0 } from './sends.js'

const db = await createTestDatabase({ name: 'search' })
let store: PostgresSpoolStore
const auth = send({ subject: 'Task: Auth', body: 'Implement JWT authentication & tokens' })
const deploy = send(
  { toAgent: 'tester', subject: 'Deploy', body: "it's done: foo & bar | (baz)" },
  { now: T0 + 1000 },
)
const other = send({ fromAgent: 'tester', subject: 'Unrelated', body: 'nothing here' }, { now: T0 + 2000 })

beforeAll(async () => {
  store = await openTestStore(db)
  await store.insertMessages({ sends: [auth, deploy, other], now: T0 })
})
afterAll(async () => {
  await store?.close()
  await db.drop()
})

const ids = async (text: string) => (await store.search({ text, limit: 50 })).map((m) => m.id)

it('finds words in subject and body by prefix, all words required, newest first', async () => {
  expect(await ids('auth')).toEqual([auth.message.id])
  expect(await ids('JWT implement')).toEqual([auth.message.id])
  expect(await ids('jwt deploy')).toEqual([])
  expect(await ids('foo bar')).toEqual([deploy.message.id])
})

it('never parses user text as query syntax', async () => {
  for (const hostile of [
    'foo & !bar | (',
    "foo'bar",
    "'",
    '"',
    '\\',
    'foo\\',
    ':*',
    'foo:*',
    '!!!',
    '(((',
    '<->',
    'foo <-> bar',
    "it's",
    'a:b:c',
    '',
    '   ',
  ]) {
    await expect(store.search({ text: hostile, limit: 10 }), hostile).resolves.toBeInstanceOf(Array)
  }
  expect(await ids('foo & !bar | (')).toEqual([deploy.message.id])
  expect(await ids(':*')).toEqual([])
  expect(await ids("it's")).toEqual([deploy.message.id])
})

it('filters by from, to, conversation and since, with a limit', async () => {
  const found = async (query: Parameters<PostgresSpoolStore['search']>[0]) =>
    (await store.search(query)).map((m) => m.id)
  expect(await found({ from: 'tester', limit: 10 })).toEqual([other.message.id])
  expect(await found({ to: 'tester', limit: 10 })).toEqual([deploy.message.id])
  expect(await found({ conversationId: auth.message.routing.conversationId, limit: 10 })).toEqual([
    auth.message.id,
  ])
  expect(await found({ since: T0 + 1000, limit: 10 })).toEqual([other.message.id, deploy.message.id])
  expect(await found({ limit: 1 })).toEqual([other.message.id])
})

it('stores a 1 MiB body of distinct words (beyond tsvector’s 1 MB limit) and finds its early words', async () => {
  const words = Array.from({ length: 120_000 }, (_, i) => `w${i.toString(36)}x${(i * 7919).toString(36)}`)
  let body = words.join(' ')
  body = body.slice(0, 1024 * 1024)
  expect(body.length).toBe(1024 * 1024)
  const big = send({ subject: 'Huge', body }, { now: T0 + 3000 })
  const out = await store.insertMessages({ sends: [big], now: T0 })
  expect(out).toEqual({ ok: true, results: [{ duplicate: false, deliveries: 1 }] })
  expect(await ids(words[10]!)).toEqual([big.message.id])
  expect(await ids('huge')).toEqual([big.message.id])
})

it('finds messages sent after the last index pass, also where it cannot run one (read-only)', async () => {
  const late = send({ subject: 'Latecomer', body: 'zeppelin arrives' }, { now: T0 + 4000 })
  await store.insertMessages({ sends: [late], now: T0 })
  const client = db.client()
  const [pending] = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM agent_comm.search_pending',
  )
  expect(pending!.n).toBe(1)
  // What a search sees before any pass: the message through its pending range, not the index.
  const found = await client.query<{ id: string }>(
    `SELECT m.id FROM agent_comm.messages m JOIN agent_comm.search_pending p ON m.seq BETWEEN p.lo AND p.hi
     WHERE ${SEARCH_DOCUMENT} @@ to_tsquery('simple', $1::text)`,
    ["'zeppelin':*"],
  )
  expect(found.map((row) => row.id)).toEqual([late.message.id])
  if (db.kind === 'server') {
    // A session whose transactions are read-only (a standby, a reader role) cannot index: it still finds it.
    const url = new URL(db.url)
    url.searchParams.set('options', '-c default_transaction_read_only=on')
    const reader = await openPostgresSpoolStore({ url: url.toString() })
    try {
      expect((await reader.search({ text: 'zeppelin', limit: 5 })).map((m) => m.id)).toEqual([
        late.message.id,
      ])
    } finally {
      await reader.close()
    }
    const [still] = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM agent_comm.search_pending',
    )
    expect(still!.n).toBe(1)
  }
  expect(await ids('zeppelin')).toEqual([late.message.id])
  // The search indexed it: nothing pending, the document in the GIN-indexed table.
  const [after] = await client.query<{ pending: number; indexed: number }>(
    `SELECT (SELECT count(*)::int FROM agent_comm.search_pending) AS pending,
       (SELECT count(*)::int FROM agent_comm.search_documents d JOIN agent_comm.messages m ON m.seq = d.message_seq
        WHERE m.id = $1) AS indexed`,
    [late.message.id],
  )
  expect(after).toEqual({ pending: 0, indexed: 1 })
})

it('reads indexed messages through the GIN index', async () => {
  const plan = await db.client().transaction(async (tx) => {
    await tx.query('SET LOCAL enable_seqscan = off')
    return tx.query(
      `EXPLAIN SELECT message_seq FROM agent_comm.search_documents WHERE document @@ to_tsquery('simple', $1::text)`,
      ["'auth':*"],
    )
  })
  expect(plan.map((row) => Object.values(row).join(' ')).join('\n')).toContain('search_documents_idx')
})
