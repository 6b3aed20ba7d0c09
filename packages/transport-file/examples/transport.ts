import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { FileTransport } from '@agent-comm/transport-file'

const root = mkdtempSync(join(tmpdir(), 'agent-comm-queue-'))
const transport = new FileTransport({ root }) // inbox/, leased/, acked/, failed/ are created if missing
await transport.send(createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' }))
if (await transport.waitForMessages('builder', { timeoutMs: 5_000 })) {
  for (const { message, lease } of await transport.claim('builder', { limit: 10 })) {
    console.log(`builder got: ${message.body}`) // meanwhile: cat <root>/leased/builder/*.json
    await transport.ack(message.id, 'builder', { receipt: lease.receipt })
  }
}
console.log(`files in acked/builder: ${readdirSync(join(root, 'acked', 'builder')).length}`)
await transport.close()
