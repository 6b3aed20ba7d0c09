// The official SDK v2 client (@modelcontextprotocol/client 2.x) against this server, over stdio (the bin,
// as an MCP host launches it) and Streamable HTTP: the handshake, tools/list, a call, an error, and a
// Claude Code channel notification caused by a send from another process.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { startHttpServer } from '../src/index.js'
import { BIN, onCleanup, tempDir } from './helpers.js'

const SENDER = fileURLToPath(new URL('./fixtures/send-message.mjs', import.meta.url))

const ChannelParams = z.object({ content: z.string(), meta: z.record(z.string(), z.string()) })
type ChannelParams = z.output<typeof ChannelParams>

interface Connected {
  client: Client
  db: string
}

/** A v2 client of the bin over stdio, bound to `builder` with the channel on. */
async function overStdio(): Promise<Connected> {
  const db = join(tempDir(), 'spool.db')
  const client = new Client({ name: 'sdk-v2-test', version: '1.0.0' })
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--agent', 'builder', '--channel'],
      env: { PATH: process.env.PATH ?? '', AGENT_COMM_DB_PATH: db },
      stderr: 'pipe',
    }),
  )
  onCleanup(() => client.close())
  return { client, db }
}

/** A v2 client of an HTTP server (in this process) bound to `builder` with the channel on. */
async function overHttp(): Promise<Connected> {
  const db = join(tempDir(), 'spool.db')
  const server = await startHttpServer({
    env: { AGENT_COMM_DB_PATH: db, AGENT_COMM_LOG_LEVEL: 'silent' },
    agent: 'builder',
    channel: true,
  })
  onCleanup(() => server.close())
  const client = new Client({ name: 'sdk-v2-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)))
  onCleanup(() => client.close())
  return { client, db }
}

function text(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n')
}

describe.each([
  ['stdio', overStdio],
  ['Streamable HTTP', overHttp],
])('the SDK v2 client over %s', (_name, connect) => {
  it('initializes, lists the tools, calls one, and gets an error as a tool result', async () => {
    const { client } = await connect()
    expect(client.getServerVersion()?.name).toBe('agent-comm')
    expect(client.getServerCapabilities()?.experimental).toHaveProperty(['claude/channel'])
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['comm_start_session', 'comm_send']))
    const send = tools.find((t) => t.name === 'comm_send')!
    expect(send.inputSchema.required).toEqual(['to_agent', 'body'])

    const session = await client.callTool({ name: 'comm_start_session', arguments: {} })
    expect(session.isError).toBeFalsy()
    expect(session.structuredContent).toMatchObject({ agentId: 'builder', waiting: { total: 0 } })

    const refused = await client.callTool({
      name: 'comm_poll',
      arguments: { agent_id: 'architect' },
    })
    expect(refused.isError).toBe(true)
    expect(text(refused)).toMatch(/^FORBIDDEN: This session acts as 'builder'/)
    expect(refused._meta?.['agent-comm/error']).toMatchObject({ code: 'FORBIDDEN' })
    const invalid = await client.callTool({ name: 'comm_poll', arguments: { limit: 0 } })
    expect(invalid.isError).toBe(true)
    expect(text(invalid)).toMatch(/^VALIDATION: Invalid arguments for comm_poll: limit/)
  })

  it('delivers a channel notification for mail sent by another process', async () => {
    const { client, db } = await connect()
    const events: ChannelParams[] = []
    let arrived: (() => void) | undefined
    const announced = new Promise<void>((resolve) => {
      arrived = resolve
    })
    client.setNotificationHandler('notifications/claude/channel', { params: ChannelParams }, (params) => {
      events.push(params)
      arrived?.()
    })
    // Once a call has returned, the session's agent is registered and its channel listens.
    await client.callTool({ name: 'comm_start_session', arguments: {} })
    const { stdout } = await promisify(execFile)(process.execPath, [
      SENDER,
      db,
      'architect',
      'builder',
      'Review the parser',
    ])
    const messageId = stdout.trim()
    // Woken by the store's change feed (another process's commit); the bound is generous for a loaded
    // machine, the event is what the test waits for.
    await announced
    expect(events).toHaveLength(1)
    expect(events[0]!.meta).toMatchObject({
      agent: 'builder',
      count: '1',
      message_id: messageId,
      from: 'architect',
    })
    expect(events[0]!.content).toContain('Review the parser')
    expect(events[0]!.content).not.toContain('from another process')
  })
})
