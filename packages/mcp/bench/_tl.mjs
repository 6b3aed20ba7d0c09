import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { createMcpServer } from '/work/wt-assist/packages/mcp/dist/index.js'

const coordinator = await createCoordinator(
  loadConfig({ AGENT_COMM_PROJECT_ROOT: mkdtempSync(tmpdir() + '/x') }),
)
const server = createMcpServer({
  coordinator,
  tools: 'all',
  relaySecrets: { generate: async () => ({}), list: async () => [] },
})
const [a, b] = InMemoryTransport.createLinkedPair()
await server.connect(a)
const client = new Client({ name: 'x', version: '1' })
await client.connect(b)
const { tools } = await client.listTools()
console.log(
  'after total chars',
  JSON.stringify({ tools }).length,
  'tokens',
  Math.round(JSON.stringify({ tools }).length / 4),
  tools.length,
)

process.exit(0)
