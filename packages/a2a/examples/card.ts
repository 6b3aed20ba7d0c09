import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { A2ATokens, agentCard, SqliteA2AStore } from '@agent-comm/a2a'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'

const spool = await Spool.open({ path: join(mkdtempSync(join(tmpdir(), 'a2a-')), 'relay.db') })
const registry = await Registry.open({ spool })
const helper = await registry.register({
  agentId: 'helper',
  capabilities: ['answer'],
  metadata: { a2a: { skills: [{ id: 'answer', name: 'Answer questions', tags: ['qa'] }] } },
})
const card = agentCard(helper, { baseUrl: 'https://relay.example.com', version: '1.0.0' })
console.log(`${card.name}: ${card.skills.length} skill(s) at ${card.supportedInterfaces[0]?.url}`)

// Tokens live hashed in the spool's own file; the token itself is shown only when created.
const tokens = new A2ATokens(spool.openShared(SqliteA2AStore.shared()))
const issued = await tokens.create('acme', { agents: ['helper'] })
console.log(`acme may call ${issued.agents?.join(', ')}: ${issued.token.startsWith('a2a_')}`)
await registry.close()
await spool.close()
