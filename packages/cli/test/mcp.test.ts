import { spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterEach, describe, expect, it } from 'vitest'
import { BIN, cleanEnv, exited, firstLine, runCli, spawnCli, tempDir } from './helpers.js'

const clients: Client[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
})

/** The environment as the SDK's transport takes it: only the variables that are set. */
function definedEnv(extra: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(cleanEnv(extra)).filter((entry): entry is [string, string] => entry[1] !== undefined),
  )
}

function frame(message: Record<string, unknown>): string {
  return `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`
}

describe('agent-comm mcp', () => {
  it('speaks MCP on stdio with nothing but JSON-RPC frames on stdout, on the --db database, until stdin closes', async () => {
    const dir = tempDir()
    const child = spawnCli(['mcp', '--db', 'spool.db'], {
      cwd: dir,
      env: cleanEnv({ AGENT_COMM_LOG_LEVEL: 'DEBUG' }),
      keepStdinOpen: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const stdin = child.stdin!
    stdin.write(
      frame({
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    )
    stdin.write(frame({ method: 'notifications/initialized' }))
    stdin.write(frame({ id: 2, method: 'tools/list' }))
    stdin.write(
      frame({
        id: 3,
        method: 'tools/call',
        params: { name: 'comm_register_agent', arguments: { agent_id: 'builder', capabilities: ['code'] } },
      }),
    )
    const answered = () => [1, 2, 3].every((id) => new RegExp(`"id":${id}[,}]`).test(stdout))
    await expect.poll(answered).toBe(true)
    stdin.end()
    expect(await exited(child)).toBe(0)

    const lines = stdout.split('\n')
    expect(lines.at(-1)).toBe('')
    const frames = lines.slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const f of frames) {
      expect(f.jsonrpc).toBe('2.0')
      expect('result' in f || 'error' in f || 'method' in f).toBe(true)
    }
    const byId = new Map(frames.filter((f) => 'id' in f).map((f) => [f.id, f]))
    expect(byId.get(1)!.result).toMatchObject({ serverInfo: { name: expect.any(String) } })
    const tools = (byId.get(2)!.result as { tools: { name: string }[] }).tools.map((t) => t.name)
    expect(tools).toEqual(
      expect.arrayContaining(['comm_send', 'comm_poll', 'comm_ack', 'comm_start_session']),
    )
    // Without a relay data folder the relay secret tools are not offered.
    expect(tools).not.toContain('comm_relay_gen_secret')
    expect(byId.get(3)!.result).toMatchObject({ structuredContent: { agent: { agentId: 'builder' } } })
    // Notices and debug logs went to stderr.
    expect(stderr).toContain('agent-comm MCP server ready on stdio')

    const agents = await runCli(['agents', '--db', 'spool.db', '--json'], { cwd: dir, env: cleanEnv() })
    expect(JSON.parse(agents.stdout)).toMatchObject({ count: 1, agents: [{ agentId: 'builder' }] })
  })

  it('serves the SDK client over stdio: initialize, tools/list and a call', async () => {
    const dir = tempDir()
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: definedEnv({ AGENT_COMM_DB_PATH: join(dir, 'spool.db') }),
      cwd: dir,
      stderr: 'pipe',
    })
    const client = new Client({ name: 'cli-test', version: '1.0.0' })
    await client.connect(transport)
    clients.push(client)
    expect(client.getServerVersion()?.name).toBeTruthy()
    const { tools } = await client.listTools()
    expect(tools.length).toBeGreaterThanOrEqual(16)
    const result = await client.callTool({
      name: 'comm_register_agent',
      arguments: { agent_id: 'architect', capabilities: ['plan'] },
    })
    expect(result.isError).toBeFalsy()
  })

  it('serves Streamable HTTP with --http, prints {url} with --json, and stops with exit 0 on SIGTERM', async () => {
    const dir = tempDir()
    const child = spawnCli(['mcp', '--http', '--port', '0', '--json'], {
      cwd: dir,
      env: cleanEnv({ AGENT_COMM_DB_PATH: join(dir, 'spool.db') }),
    })
    const { url } = JSON.parse(await firstLine(child)) as { url: string }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
    const client = new Client({ name: 'cli-http-test', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(url)))
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toContain('comm_send')
    await client.close()
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })

  it('serves browser pages of the --allowed-origin origins, and refuses other origins with 403', async () => {
    const dir = tempDir()
    const child = spawnCli(
      ['mcp', '--http', '--port', '0', '--json', '--allowed-origin', 'https://app.example.com'],
      { cwd: dir, env: cleanEnv({ AGENT_COMM_DB_PATH: join(dir, 'spool.db') }) },
    )
    const { url } = JSON.parse(await firstLine(child)) as { url: string }
    const initialize = (origin: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          origin,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'browser', version: '1' },
          },
        }),
      })
    const allowed = await initialize('https://app.example.com')
    await allowed.body?.cancel()
    expect(allowed.status).toBe(200)
    const other = await initialize('https://evil.example.com')
    await other.body?.cancel()
    expect(other.status).toBe(403)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })

  it('has every flag of agent-comm-mcp, as the README says', async () => {
    const mcpBin = fileURLToPath(new URL('../../mcp/bin/agent-comm-mcp.js', import.meta.url))
    const help = spawnSync(process.execPath, [mcpBin, '--help'], { env: cleanEnv(), encoding: 'utf8' })
    const binFlags = [...help.stdout.matchAll(/^ {2}(?:-[a-z], )?--([a-z-]+)/gm)]
      .map((m) => m[1] as string)
      .filter((flag) => !['help', 'version'].includes(flag))
    expect(binFlags.length).toBeGreaterThan(5)
    const run = await runCli(['mcp', '--help'], { env: cleanEnv() })
    for (const flag of binFlags) expect(run.stdout, `--${flag}`).toContain(`--${flag}`)
  })

  it('exits 1 with what to do when the --http port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as { port: number }
    try {
      const dir = tempDir()
      const run = await runCli(['mcp', '--http', '--port', String(port), '--json'], {
        cwd: dir,
        env: cleanEnv({ AGENT_COMM_DB_PATH: join(dir, 'spool.db') }),
      })
      expect(run.code).toBe(1)
      expect(JSON.parse(run.stdout)).toEqual({
        error: {
          code: 'UNAVAILABLE',
          message: `The MCP server cannot listen on 127.0.0.1:${port}: the address is already in use`,
          hint: 'Stop what uses it, or choose another port (0 picks a free one): agent-comm mcp --http --port <port>',
        },
      })
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('refuses --port without --http (exit 2)', async () => {
    const run = await runCli(['mcp', '--port', '8421'], { cwd: tempDir(), env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^Error: All of the following must be provided when using --port: --http\n/)
    expect(run.stdout).toBe('')
  })

  it('exits 2 naming the variable when the configuration is invalid, with nothing on stdout', async () => {
    const run = await runCli(['mcp'], { cwd: tempDir(), env: cleanEnv({ AGENT_COMM_TTL_HOURS: 'soon' }) })
    expect(run.code).toBe(2)
    // Logged as the server stops (it answered every tool call with it while it ran), then printed.
    expect(run.stderr).toMatch(/^Error: Could not start: AGENT_COMM_TTL_HOURS must be a positive number/m)
    expect(run.stdout).toBe('')
  })
})
