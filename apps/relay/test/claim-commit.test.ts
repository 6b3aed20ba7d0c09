import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, recordCommitSettings, type TestDatabase } from '@agent-comm/postgres/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { createRelayLogger, openRelayStorage, relayConfig } from '../src/index.js'
import { tempDir } from './helpers.js'

const db: TestDatabase = await createTestDatabase({ name: 'relay_claim_commit' })
afterAll(async () => {
  await db.drop()
})

describe.skipIf(db.kind !== 'server')('AGENT_COMM_RELAY_PG_CLAIM_COMMIT on a replica', () => {
  for (const [claimCommit, expected] of [
    [undefined, 'on'],
    ['relaxed', 'off'],
  ] as const) {
    it(`commits claims and acks with synchronous_commit ${expected} when it is ${claimCommit ?? 'not set'}, and sends always with on`, async () => {
      const schema = `claim_commit_${claimCommit ?? 'default'}`
      const storage = await openRelayStorage(
        relayConfig({
          dataDir: tempDir(),
          databaseUrl: db.url,
          postgresSchema: schema,
          secretsKey: RelaySecretsKey.generate().toBase64(),
          ...(claimCommit === undefined ? {} : { postgresClaimCommit: claimCommit }),
        }),
        { logger: createRelayLogger({ level: 'silent' }) },
      )
      const client = db.client()
      try {
        // A trigger records the setting in force while each statement writing a delivery runs.
        const recorded = await recordCommitSettings(client, schema, { inserts: true })
        await storage.spool.send({ fromAgent: 'a', toAgent: 'w', body: 'hi' })
        const [claimed] = await storage.spool.claim('w')
        await storage.spool.ack(claimed!.message.id, 'w', { receipt: claimed!.lease.receipt })
        expect(await recorded()).toEqual([
          { status: 'queued', setting: 'on' },
          { status: 'leased', setting: expected },
          { status: 'acked', setting: expected },
        ])
      } finally {
        await storage.close()
      }
    })
  }
})
