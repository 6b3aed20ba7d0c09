import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'

// Start agent-comm-mcp as an MCP client does (this is what an `.mcp.json` entry describes).
const db = join(mkdtempSync(join(tmpdir(), 'agent-comm-')), 'coordination.db')
const transport = new StdioClientTransport({
  command: 'npx',
  args: ['agent-comm-mcp'],
  env: { ...getDefaultEnvironment(), AGENT_COMM_DB_PATH: db },
})
const client = new Client({ name: 'example', version: '1.0.0' })
await client.connect(transport) // initialize

const server = client.getServerVersion()
const { tools } = await client.listTools()
console.log(
  `${server?.name} ${server?.version} offers ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`,
)
const result = await client.callTool({
  name: 'comm_register_agent',
  arguments: { agent_id: 'builder', capabilities: ['code'] },
})
console.log(result.isError ? `failed: ${JSON.stringify(result.content)}` : 'registered builder')
await client.close()
