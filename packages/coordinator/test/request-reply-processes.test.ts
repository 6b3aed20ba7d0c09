import { join } from 'node:path'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import type { MessageV2 } from '@agent-comm/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { type Coordinator, createCoordinator, loadConfig } from '../src/index.js'
import { tempDir } from './helpers.js'
import { startFixture } from './processes.js'

// Real processes on one database: the responders and requesters of these tests are child processes running
// the built package (test/fixtures). Nothing here measures time: a loaded 2-core machine runs them many
// times slower than an idle one, and every wait is bounded only by the package's hang bounds (300 s), or
// 600 s for the 1,000 round trips.
const REQUESTERS = 100
const REQUESTS_EACH = 10
const RESPONDERS = 4
const ROUND_TRIPS_BOUND_MS = 600_000

const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

/** The stores the tests run on: a SQLite file always, PostgreSQL when a server answers. */
const stores: { name: string; database: () => Promise<string>; skip: boolean }[] = [
  { name: 'one SQLite file', database: async () => join(tempDir(), 'coordination.db'), skip: false },
  {
    name: 'one PostgreSQL database',
    database: async () => {
      const db = await createTestDatabase({ name: 'request_reply' })
      databases.push(db)
      return db.url
    },
    skip: !hasServer,
  },
]
const databases: TestDatabase[] = []
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()))
})

async function open(database: string): Promise<Coordinator> {
  return createCoordinator(loadConfig({ AGENT_COMM_DB_PATH: database }), { database: { create: true } })
}

for (const store of stores) {
  describe.skipIf(store.skip)(`request/reply between processes on ${store.name}`, () => {
    it(
      `resolves ${REQUESTERS} requesters × ${REQUESTS_EACH} requests against ${RESPONDERS} responder processes, each with its own reply`,
      async () => {
        const database = await store.database()
        const coord = await open(database)
        try {
          const requesters = Array.from({ length: REQUESTERS }, (_, r) => `requester-${r}`)
          for (const agentId of [...requesters, 'responder']) await coord.register({ agentId })
          const responders = Array.from({ length: RESPONDERS }, (_, p) =>
            startFixture('responder.mjs', [database, 'responder', `p${p}`]),
          )
          await Promise.all(responders.map((r) => r.said('ready')))

          // Each requester asks its questions one after the other; the 100 ask at the same time.
          const answered = await Promise.all(
            requesters.map(async (fromAgent) => {
              const replies: { body: string; reply: MessageV2 }[] = []
              for (let i = 0; i < REQUESTS_EACH; i++) {
                const body = `${fromAgent}#${i}`
                const reply = await coord.request(
                  { fromAgent, toAgent: 'responder', body },
                  { timeoutMs: ROUND_TRIPS_BOUND_MS },
                )
                replies.push({ body, reply })
              }
              return replies
            }),
          )

          for (const r of responders) r.child.stdin!.end()
          const reports = (await Promise.all(responders.map((r) => r.reports<{ replied: number }>()))).flat()

          const all = answered.flat()
          expect(all).toHaveLength(REQUESTERS * REQUESTS_EACH)
          const crossed: string[] = []
          for (const { body, reply } of all) {
            const request = (await coord.status(reply.routing.replyTo!)).message
            const requester = body.split('#')[0]
            // Its own reply: to the request this requester sent with this body, addressed to it.
            if (
              reply.body !== `re:${body}` ||
              reply.toAgent !== requester ||
              request.body !== body ||
              request.fromAgent !== requester
            ) {
              crossed.push(`${body} got ${reply.id} (${reply.body}) to ${reply.toAgent}`)
            }
          }
          expect(crossed).toEqual([])
          expect(new Set(all.map((a) => a.reply.id)).size).toBe(REQUESTERS * REQUESTS_EACH)
          expect(reports.reduce((sum, r) => sum + r.replied, 0)).toBe(REQUESTERS * REQUESTS_EACH)
          // The work was shared between the responder processes.
          expect(new Set(all.map((a) => a.reply.metadata?.responder)).size).toBeGreaterThan(1)
          // Every request and every reply acked, once: nothing queued, leased or dead-lettered.
          expect((await coord.stats()).deliveries).toMatchObject({
            acked: 2 * REQUESTERS * REQUESTS_EACH,
            queued: 0,
            leased: 0,
            failed: 0,
          })
        } finally {
          await coord.close()
        }
      },
      ROUND_TRIPS_BOUND_MS + 60_000,
    )

    it('lets a requester process killed mid-wait pick the wait up after a restart with awaitReply', async () => {
      const database = await store.database()
      const coord = await open(database)
      try {
        for (const agentId of ['architect', 'builder']) await coord.register({ agentId })

        // The reply comes while no requester runs: it waits in the inbox for the restarted one.
        const first = startFixture('requester.mjs', [database, 'request', 'architect', 'builder', 'first'])
        const [asked] = await coord.poll('builder', { waitMs: 240_000 })
        expect(asked?.message.body).toBe('first')
        first.child.kill('SIGKILL')
        expect(await first.ended()).toMatchObject({ signal: 'SIGKILL' })
        await coord.reply(asked!, { body: 'answer while you were away' })
        await coord.ack(asked!)
        const restarted = startFixture('requester.mjs', [database, 'await', asked!.message.id])
        const [got] = await restarted.reports<{ body: string; replyTo: string; toAgent: string }>()
        expect(got).toEqual({
          id: expect.any(String),
          body: 'answer while you were away',
          replyTo: asked!.message.id,
          toAgent: 'architect',
        })

        // The reply comes while the restarted requester waits.
        const second = startFixture('requester.mjs', [database, 'request', 'architect', 'builder', 'second'])
        const [again] = await coord.poll('builder', { waitMs: 240_000 })
        expect(again?.message.body).toBe('second')
        second.child.kill('SIGKILL')
        await second.ended()
        const waiting = startFixture('requester.mjs', [database, 'await', again!.message.id])
        await waiting.said('waiting')
        await coord.reply(again!, { body: 'answer after the restart' })
        await coord.ack(again!)
        const [late] = await waiting.reports<{ body: string; replyTo: string }>()
        expect(late).toMatchObject({ body: 'answer after the restart', replyTo: again!.message.id })

        // Each reply was taken once, by the restarted requester: nothing left in the inbox.
        expect(await coord.pending('architect')).toEqual([])
        expect((await coord.stats()).deliveries).toMatchObject({ acked: 4, queued: 0, leased: 0 })
      } finally {
        await coord.close()
      }
    })
  })
}
