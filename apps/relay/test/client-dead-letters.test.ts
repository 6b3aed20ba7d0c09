import type { Logger } from '@agent-comm/protocol'
import { createMessage } from '@agent-comm/protocol'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { onCleanup, startTestRelay, T0 } from './helpers.js'

const clock = { now: () => T0 }
const message = (subject: string) =>
  createMessage({ fromAgent: 'architect', toAgent: 'builder', subject, body: 'Go' }, { clock })

describe('a delivery the relay hands out but the client cannot read', () => {
  it("is nacked to failed by the real client alone; the claim returns the others and the relay's status says why", async () => {
    const relay = await startTestRelay()
    const warnings: Record<string, unknown>[] = []
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (fields) => warnings.push(fields),
      error: () => {},
    }
    const client = new RelayClient({
      baseUrl: relay.url,
      secretFor: (id) => relay.secrets[id],
      clock: relay.clock,
      logger,
    })
    onCleanup(() => client.close())
    const ids: string[] = []
    for (const subject of ['first', 'poison', 'second']) {
      ids.push((await relay.client.send(message(subject))).messageId)
    }
    // A subject past the protocol's 1 KiB, stored as a relay of an older version could have: the relay's
    // claim hands it out (it checks ids and JSON), and the client's check of the whole message refuses it.
    sqliteConnectionOf(relay.spool)
      .prepare('UPDATE messages SET subject = ? WHERE id = ?')
      .run('x'.repeat(2_000), ids[1])

    const claimed = await client.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([ids[0], ids[2]])
    const poison = await relay.spool.status(ids[1] as string)
    expect(poison.deliveries).toEqual([
      expect.objectContaining({
        recipient: 'builder',
        status: 'failed',
        lastError: expect.stringMatching(/subject: must be at most 1024 bytes/),
      }),
    ])
    expect(warnings).toEqual([expect.objectContaining({ messageId: ids[1] })])
    // The good ones are leased to this claim and can be acked with its receipts.
    for (const { message: m, lease } of claimed) {
      expect(await client.ack(m.id, 'builder', { receipt: lease.receipt })).toMatchObject({
        alreadyAcked: false,
      })
    }
    expect((await relay.spool.stats()).deliveries).toMatchObject({ acked: 2, failed: 1, leased: 0 })
  })
})

describe('a dead letter the relay cannot read', () => {
  it('stays listed by the relay (failed, status) once dead-lettered, even when its metadata is not JSON', async () => {
    const relay = await startTestRelay()
    const ids: string[] = []
    for (const subject of ['deep', 'broken', 'fine']) {
      ids.push((await relay.client.send(message(subject))).messageId)
    }
    const write = sqliteConnectionOf(relay.spool).prepare('UPDATE messages SET metadata = ? WHERE id = ?')
    write.run(`{"deep":${'{"a":'.repeat(2_999)}{}${'}'.repeat(2_999)}}`, ids[0])
    write.run('{"not json', ids[1])
    expect((await relay.client.claim('builder', { limit: 10 })).map((c) => c.message.id)).toEqual([ids[2]])

    const failed = await relay.signed('admin', 'GET', '/api/v1/admin/failed')
    expect(failed.statusCode).toBe(200)
    const listed = (failed.json() as { failed: { message: { id: string } }[] }).failed
    expect(listed.map((f) => f.message.id).sort()).toEqual([ids[0], ids[1]].sort())
    const status = await relay.signed('architect', 'GET', `/api/v1/messages/${ids[1]}`)
    expect(status.statusCode).toBe(200)
    expect(status.json()).toMatchObject({ deliveries: [{ status: 'failed' }] })
  })
})
