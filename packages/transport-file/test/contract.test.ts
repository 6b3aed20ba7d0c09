import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { describeTransportContract } from '@agent-comm/transport-contract'
import { FileTransport } from '../src/index.js'

describeTransportContract('file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'agent-comm-file-contract-'))
  const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const transport = new FileTransport({ root, clock })
  return {
    transport,
    clock,
    teardown: async () => {
      await transport.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
})
