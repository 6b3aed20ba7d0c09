import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-'))
const spool = await Spool.open({ path: join(dir, 'coordination.db') }) // created and migrated if needed
await spool.send({
  fromAgent: 'architect',
  toAgent: 'builder',
  subject: 'Task: Auth',
  body: 'Implement JWT auth',
})

for (const { message, lease } of await spool.claim('builder', { limit: 10, leaseSeconds: 60 })) {
  console.log(`${message.fromAgent} → builder: ${message.subject}`)
  await spool.ack(message.id, 'builder', { receipt: lease.receipt })
}
const { deliveries } = await spool.stats()
console.log(`acked: ${deliveries.acked}, queued: ${deliveries.queued}`)
await spool.close()
