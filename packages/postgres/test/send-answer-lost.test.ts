import { Spool } from '@agent-comm/spool'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { tcpProxy } from './tcp-proxy.js'

/**
 * A send whose statement committed but whose answer never reached the client (the server restarted, a
 * backend was terminated, the network dropped after the commit). The client cannot tell this from a send
 * that never ran; reported as a failure, a stored message would be sent again as a new one by whoever
 * retries it.
 */
const db = await createTestDatabase({
  name: 'send_answer_lost',
  logger: reportSkipped('send-answer-lost.test.ts (answers cut by a TCP proxy)'),
})
let proxy: Awaited<ReturnType<typeof tcpProxy>>
const spools: Spool[] = []

beforeAll(async () => {
  proxy = await tcpProxy()
})
afterAll(async () => {
  await Promise.all(spools.map((s) => s.close()))
  await proxy?.close()
  await db.drop()
})

async function spoolThroughProxy(schema: string): Promise<Spool> {
  const url = new URL(db.url)
  url.port = String(proxy.port)
  const spool = await Spool.open({
    store: await openPostgresSpoolStore({ url: url.toString(), schema, poolSize: 2 }),
  })
  spools.push(spool)
  return spool
}

describe.skipIf(db.kind !== 'server')('a send whose answer was lost (needs a PostgreSQL server)', () => {
  it('reports a send that committed before its connection was lost as stored, and stores it once', async () => {
    const spool = await spoolThroughProxy('answer_lost_send')
    proxy.cutAnswerTo('committed but never answered')
    const sent = await spool.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task',
      body: 'committed but never answered',
    })
    expect(proxy.cuts).toBe(1)
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([sent.messageId])
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it('runs a keyed send whose connection was lost in its transaction once more, and stores it once', async () => {
    const spool = await spoolThroughProxy('answer_lost_keyed')
    // The cut comes inside the transaction, before its commit: the retry stores what the first run did not.
    proxy.cutAnswerTo('keyed, never answered')
    const sent = await spool.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'keyed, never answered' },
      { idempotencyKey: 'deploy-42' },
    )
    expect(proxy.cuts).toBe(2)
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([sent.messageId])
    expect((await spool.stats()).totalMessages).toBe(1)
  })
})
