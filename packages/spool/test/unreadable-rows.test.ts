import { describe, expect, it } from 'vitest'
import { openSpool, task } from './helpers.js'

/** `levels` objects nested in each other, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`

describe('a stored message the protocol cannot read', () => {
  it('is dead-lettered alone by the claim that meets it; the others are handed out', async () => {
    const { spool } = await openSpool()
    const ids: string[] = []
    for (const subject of ['first', 'deep', 'broken', 'second']) {
      ids.push((await spool.send(task('Go', { subject, metadata: { note: subject } }))).messageId)
    }
    // Written past the send-time checks: as an older version, or a hand edit, could have left them.
    const write = spool.sqlite.prepare('UPDATE messages SET metadata = ? WHERE id = ?')
    write.run(`{"deep":${nestedText(3_000)}}`, ids[1])
    write.run('{"not json', ids[2])

    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['first', 'second'])
    expect(claimed.map((c) => c.message.metadata)).toEqual([{ note: 'first' }, { note: 'second' }])

    const failed = spool.sqlite
      .prepare(
        `SELECT m.subject AS subject, d.status AS status, d.last_error AS lastError, d.receipt AS receipt
         FROM deliveries d JOIN messages m ON m.seq = d.message_seq WHERE d.status = 'failed' ORDER BY m.seq`,
      )
      .all()
    expect(failed).toEqual([
      {
        subject: 'deep',
        status: 'failed',
        lastError: expect.stringMatching(
          /^Stored message 'msg_\w+' cannot be read: its metadata breaks the protocol: .*nested more than 64 levels deep .*jsonMaxDepth/,
        ),
        receipt: null,
      },
      {
        subject: 'broken',
        status: 'failed',
        lastError: expect.stringMatching(/its metadata is not valid JSON/),
        receipt: null,
      },
    ])
    // A dead letter stays readable for an operator, as stored; one that is not even JSON says so.
    expect((await spool.status(ids[1] as string)).deliveries[0]).toMatchObject({ status: 'failed' })
    await expect(spool.status(ids[2] as string)).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringMatching(/its metadata is not valid JSON/),
    })
    expect(await spool.claim('builder')).toEqual([])
  })

  it('leaves messages within the limits untouched, at the deepest allowed nesting too', async () => {
    const { spool } = await openSpool()
    const metadata = JSON.parse(nestedText(64))
    const payload = { type: 'context_share' as const, data: JSON.parse(nestedText(64)) }
    await spool.send(task('Go', { metadata, payload }))
    const [claimed] = await spool.claim('builder')
    expect(claimed?.message.metadata).toEqual(metadata)
    expect(claimed?.message.payload).toEqual(payload)
  })
})
