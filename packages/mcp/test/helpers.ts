import { fileURLToPath } from 'node:url'
import { type Coordinator, createCoordinator, loadConfig } from '@agent-comm/coordinator'
import type { Clock } from '@agent-comm/protocol'
import { testCleanups } from '@agent-comm/test-support'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { expect } from 'vitest'
import { createMcpServer, type McpServerOptions, type RelaySecrets } from '../src/index.js'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-mcp-test-')

/** A coordinator on a fresh SQLite file in a temp folder, closed after the test. */
export async function openCoordinator(clock?: Clock): Promise<Coordinator> {
  const coordinator = await createCoordinator(
    loadConfig({ AGENT_COMM_PROJECT_ROOT: tempDir() }),
    clock === undefined ? {} : { clock },
  )
  onCleanup(() => coordinator.close())
  return coordinator
}

/** An SDK client connected in memory to a new MCP server on `coordinator`. */
export async function connect(
  coordinator: Coordinator,
  options: Omit<McpServerOptions, 'coordinator'> = {},
): Promise<Client> {
  const server = createMcpServer({ coordinator, ...options })
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  const client = new Client({ name: 'agent-comm-mcp-test', version: '1.0.0' })
  await client.connect(clientSide)
  onCleanup(async () => {
    await client.close()
    await server.close()
  })
  // The client validates structured results only against schemas it has listed.
  await client.listTools()
  return client
}

/** The path of the built bin (tests that spawn it need `pnpm build` first; turbo's test task does that). */
export const BIN = fileURLToPath(new URL('../bin/agent-comm-mcp.js', import.meta.url))

/** Calls a tool. */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult
}

/** The text content of a tool result. */
export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n')
}

/** Calls a tool that must succeed and returns its structured content. */
export async function ok<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const result = await call(client, name, args)
  expect(result.isError, `${name} failed: ${textOf(result)}`).toBeFalsy()
  expect(result.structuredContent).toBeDefined()
  return result.structuredContent as T
}

/** Calls a tool that must fail, returning the error text. */
export async function fails(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<string> {
  const result = await call(client, name, args)
  expect(result.isError, `${name} should have failed: ${textOf(result)}`).toBe(true)
  expect(result.structuredContent).toBeUndefined()
  return textOf(result)
}

/** The shape of a claimed message in comm_poll's structured result. */
export interface Claimed {
  message: {
    id: string
    fromAgent: string
    toAgent: string
    subject: string
    body: string
    routing: { conversationId: string; replyTo?: string }
  }
  lease: { recipient: string; receipt: string; attempt: number }
}

/**
 * A client of the bin over stdio, as an MCP host launches it: `env` (with PATH) and the bin's `args`;
 * `stderr()` is what it logged so far. Closed after the test.
 */
export async function stdioClient(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  })
  let stderr = ''
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const client = new Client({ name: 'agent-comm-mcp-test', version: '1.0.0' })
  await client.connect(transport)
  onCleanup(() => client.close())
  return { client, stderr: () => stderr }
}

/** A relay secret store in memory, for tests that need the relay tools offered. */
export function fakeRelaySecrets(): RelaySecrets {
  return {
    generate: async (agentId) => ({ agentId, secret: 'x'.repeat(43), createdAt: new Date(0).toISOString() }),
    list: async () => [],
  }
}
