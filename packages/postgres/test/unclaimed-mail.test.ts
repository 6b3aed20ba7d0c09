import { Spool } from '@agent-comm/spool'
import { advanceCursor, NO_CURSOR } from '@agent-comm/spool/unclaimed-mail'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestDatabase, openTestStore } from '../src/testing.js'
import { readUnclaimedMail } from '../src/unclaimed-mail.js'

// readUnclaimedMail connects by URL (it is what a hook process runs): it needs a server, PGlite has no URL.
const db = await createTestDatabase({ name: 'unclaimed_mail' })
afterAll(() => db.drop())

describe.skipIf(db.kind !== 'server')('readUnclaimedMail (the inbox hooks’ read)', () => {
  it('returns what the recipient could claim now and is new to the cursor, by the server’s clock', async () => {
    const spool = await Spool.open({ store: await openTestStore(db, { schema: 'um_read' }) })
    try {
      await spool.send({ fromAgent: 'a', toAgent: 'b', subject: 'first', body: 'x', priority: 'low' })
      await spool.send({ fromAgent: 'a', toAgent: 'b', subject: 'urgent', body: 'x', priority: 'critical' })
      await spool.send({ fromAgent: 'a', toAgent: 'b', subject: 'later', body: 'x' }, { delaySeconds: 3600 })
      const all = await readUnclaimedMail({ url: db.url, schema: 'um_read', recipient: 'b' })
      expect(all.rows.map((row) => row.subject)).toEqual(['urgent', 'first'])
      expect(all.now).toBeGreaterThan(0)
      const cursor = advanceCursor(NO_CURSOR, all.rows, all.now)
      expect(
        (await readUnclaimedMail({ url: db.url, schema: 'um_read', recipient: 'b', cursor })).rows,
      ).toEqual([])
    } finally {
      await spool.close()
    }
  })

  it('refuses a schema a newer version migrated, and one that holds no agent-comm database', async () => {
    const store = await openTestStore(db, { schema: 'um_newer' })
    await store.close()
    await db
      .client()
      .query(
        `INSERT INTO um_newer.__agent_comm_spool_migrations (hash, created_at) VALUES ('from-the-future', $1)`,
        [Date.now() + 1e12],
      )
    await expect(
      readUnclaimedMail({ url: db.url, schema: 'um_newer', recipient: 'b' }),
    ).rejects.toMatchObject({
      code: 'SCHEMA_VERSION',
    })
    await expect(
      readUnclaimedMail({ url: db.url, schema: 'um_nothing', recipient: 'b' }),
    ).rejects.toMatchObject({
      code: 'STORAGE',
      details: { reason: 'missing' },
    })
  })
})
