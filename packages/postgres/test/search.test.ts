import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PostgresSpoolStore } from '../src/index.js'
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

it('matches the expression of the GIN index, so a search can use it', async () => {
  const plan = await db.client().transaction(async (tx) => {
    await tx.query('SET LOCAL enable_seqscan = off')
    return tx.query(
      `EXPLAIN SELECT seq FROM agent_comm.messages WHERE ${SEARCH_DOCUMENT} @@ to_tsquery('simple', $1::text)`,
      ["'auth':*"],
    )
  })
  expect(plan.map((row) => Object.values(row).join(' ')).join('\n')).toContain('messages_search_idx')
})
