import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'

const spool = await Spool.open({ path: join(mkdtempSync(join(tmpdir(), 'agent-comm-')), 'coordination.db') })
const registry = await Registry.open({ spool }) // the spool's connection: one connection, one file

await registry.register({ agentId: 'builder', capabilities: ['code', 'test'], device: 'laptop' })
await registry.register({
  agentId: 'reviewer',
  capabilities: ['review'],
  transport: 'http',
  relayUrl: 'https://relay.example.com',
})
const reviewers = await registry.findByCapability('review')
console.log(`reviewers: ${reviewers.map((a) => `${a.agentId} (${a.status}, ${a.transport})`).join(', ')}`)
await spool.close()
