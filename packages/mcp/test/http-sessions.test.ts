import { queryObjects } from 'node:v8'
import { ManualClock } from '@agent-comm/protocol'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { describe, expect, it } from 'vitest'
import { AGENT_HEADER, startHttpServer } from '../src/index.js'
import { ok, onCleanup, openCoordinator } from './helpers.js'

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'abandoned', version: '1' },
  },
})

function initialize(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: INITIALIZE,
  })
}

/** Live instances of each session's objects on the heap (v8.queryObjects collects garbage first). */
function liveSessionObjects(): { servers: number; transports: number } {
  return {
    servers: queryObjects(McpServer, { format: 'count' }),
    transports: queryObjects(StreamableHTTPServerTransport, { format: 'count' }),
  }
}

describe('MCP over HTTP: sessions, origins and tokens', () => {
  it('closes abandoned sessions once they are idle past the TTL', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'))
    const running = await startHttpServer({
      coordinator: await openCoordinator(),
      clock,
      sessionTtlMs: 60_000,
    })
    onCleanup(() => running.close())
    const before = liveSessionObjects()
    // Enough sessions that a leak of any of them shows in the exact counts, few enough for a loaded machine
    // (each initialize builds a server with every tool: ~50 ms of CPU).
    const abandoned = 200
    for (let started = 0; started < abandoned; started += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await initialize(running.url)
          expect(res.status).toBe(200)
          await res.text()
        }),
      )
    }
    expect(running.sessionCount).toBe(abandoned)
    // Each session holds its own server and transport until it is evicted...
    expect(liveSessionObjects()).toEqual({
      servers: before.servers + abandoned,
      transports: before.transports + abandoned,
    })
    clock.advance(30_000)
    expect(await running.evictIdle()).toBe(0)
    clock.advance(30_000)
    expect(await running.evictIdle()).toBe(abandoned)
    expect(running.sessionCount).toBe(0)
    // ...and none of them is reachable afterwards: memory returns to what it was, not 600 sessions more.
    expect(liveSessionObjects()).toEqual(before)
  })

  it('refuses a foreign Origin, and requires the bearer token when one is set', async () => {
    const running = await startHttpServer({ coordinator: await openCoordinator(), token: 's3cret' })
    onCleanup(() => running.close())
    expect(
      (await initialize(running.url, { origin: 'https://evil.example', authorization: 'Bearer s3cret' }))
        .status,
    ).toBe(403)
    expect((await initialize(running.url)).status).toBe(401)
    expect((await initialize(running.url, { authorization: 'Bearer wrong' })).status).toBe(401)
    const good = await initialize(running.url, {
      origin: 'http://localhost:3000',
      authorization: 'Bearer s3cret',
    })
    expect(good.status).toBe(200)
    await good.text()
  })

  it('refuses to bind beyond loopback without a token', async () => {
    await expect(startHttpServer({ coordinator: await openCoordinator(), host: '0.0.0.0' })).rejects.toThrow(
      /without a bearer token/,
    )
  })

  it('binds each session to the agent its header names', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    const running = await startHttpServer({ coordinator })
    onCleanup(() => running.close())
    const client = new Client({ name: 'http-agent', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(running.url), {
        requestInit: { headers: { [AGENT_HEADER]: 'builder' } },
      }),
    )
    onCleanup(() => client.close())
    await client.listTools()
    const session = await ok<{ agentId: string }>(client, 'comm_start_session')
    expect(session.agentId).toBe('builder')
    const refused = await client.callTool({ name: 'comm_poll', arguments: { agent_id: 'architect' } })
    expect(refused.isError).toBe(true)
  })
})
