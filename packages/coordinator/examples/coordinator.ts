import { createCoordinator, loadConfig } from '@agent-comm/coordinator'

const coord = await createCoordinator(loadConfig(process.env)) // ./data/coordination.db by default
await coord.register({ agentId: 'architect', capabilities: ['design'] })
await coord.register({ agentId: 'builder', capabilities: ['code'] })
await coord.send({
  fromAgent: 'architect',
  toAgent: 'builder',
  subject: 'Task: Auth',
  body: 'Implement JWT auth',
})

for (const msg of await coord.poll('builder', { waitMs: 5_000 })) {
  console.log(`builder: ${msg.message.subject}`)
  await coord.reply(msg, { body: 'Done: PR #456' }) // same conversation, "Re: Task: Auth"
  await coord.ack(msg)
}
for (const msg of await coord.poll('architect')) {
  console.log(`architect: ${msg.message.subject} — ${msg.message.body}`)
  await coord.ack(msg)
}
await coord.close()
