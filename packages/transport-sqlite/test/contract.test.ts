import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { describeTransportContract } from '@agent-comm/transport-contract'
import { SqliteTransport } from '../src/index.js'

describeTransportContract('SqliteTransport', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-sqlite-contract-'))
  const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const transport = await SqliteTransport.open({ path: join(dir, 'spool.db'), clock })
  return {
    transport,
    clock,
    teardown: async () => {
      await transport.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
