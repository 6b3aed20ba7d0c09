import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { SqliteTransport } from '@agent-comm/transport-sqlite'

const path = join(mkdtempSync(join(tmpdir(), 'agent-comm-')), 'coordination.db')
const transport = await SqliteTransport.open({ path })
await transport.send(createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' }))
if (await transport.waitForMessages('builder', { timeoutMs: 5_000 })) {
  for (const { message, lease } of await transport.claim('builder', { limit: 10 })) {
    console.log(`builder got: ${message.body}`)
    await transport.ack(message.id, 'builder', { receipt: lease.receipt })
  }
}
await transport.close()
