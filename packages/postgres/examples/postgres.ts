import { openPostgresSpoolStore } from '@agent-comm/postgres'
import { Spool } from '@agent-comm/spool'

// Your database: agent-comm's tables go in a schema of their own (agent_comm), created and migrated on open.
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const spool = await Spool.open({ store: await openPostgresSpoolStore({ url }) })
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
await spool.close() // closes the store and its connections
