import { afterAll, beforeAll, expect, it } from 'vitest'
import { openPostgresSpoolStore, type PostgresSpoolStore } from '../src/index.js'
import { type FreshDatabase, freshDatabase } from './fresh-database.js'
import { send, T0 } from './sends.js'

let db: FreshDatabase
let store: PostgresSpoolStore
const auth = send({ subject: 'Task: Auth', body: 'Implement JWT authentication & tokens' })
const deploy = send(
  { toAgent: 'tester', subject: 'Deploy', body: "it's done: foo & bar | (baz)" },
  { now: T0 + 1000 },
)
const other = send({ fromAgent: 'tester', subject: 'Unrelated', body: 'nothing here' }, { now: T0 + 2000 })

beforeAll(async () => {
  db = await freshDatabase()
  store = await openPostgresSpoolStore({ url: db.url })
  await store.insertMessages({ sends: [auth, deploy, other], now: T0 })
})
afterAll(async () => {
  await store?.close()
  await db?.drop()
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
