import { BridgeRunner, FunctionBridge } from '@agent-comm/bridge'
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

// The builder is a function here; CommandBridge runs a program and HttpBridge calls a webhook instead.
const builder = new FunctionBridge(async (message) => `Done: ${message.subject}`)
const runner = new BridgeRunner({ coordinator: coord, agent: 'builder', bridge: builder })
const summary = await runner.run({ once: true }) // without `once` it runs until its `signal` aborts
console.log(`bridge handled ${summary.succeeded} message(s)`)

for (const msg of await coord.poll('architect')) {
  console.log(`architect got: ${msg.message.body}`) // the reply, in the same conversation
  await coord.ack(msg)
}
await coord.close()
