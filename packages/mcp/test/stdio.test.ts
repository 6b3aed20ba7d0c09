import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { describe, expect, it } from 'vitest'
import { BIN, type Claimed, call, ok, onCleanup, stdioClient, tempDir, textOf } from './helpers.js'

interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

/** Spawns the built bin with `env` added to a minimal environment. */
function spawnBin(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

function frame(message: Record<string, unknown>): string {
  return `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`
}

describe('agent-comm-mcp over stdio', () => {
  it('answers every tool call with the open failure as a tool error, and stays up, when the database cannot be opened', async () => {
    // Nothing listens on port 1: connecting is refused at once.
    const { client, stderr } = await stdioClient({
      AGENT_COMM_DB_PATH: 'postgres://postgres:pw@127.0.0.1:1/x',
    })
    for (const tool of ['comm_discover_agents', 'comm_send', 'comm_discover_agents']) {
      const args = tool === 'comm_send' ? { from_agent: 'a', to_agent: 'b', body: 'hi' } : {}
      const result = await call(client, tool, args)
      expect(result.isError).toBe(true)
      expect(textOf(result)).toMatch(
        /^STORAGE: Could not open the database: Could not connect to PostgreSQL at 127\.0\.0\.1:1 \(postgres:\/\/postgres@127\.0\.0\.1:1\/x\): connection refused/,
      )
      expect(textOf(result)).toContain('Check that PostgreSQL is running')
      expect(textOf(result)).toContain('restart this MCP server')
      expect(textOf(result)).not.toContain(':pw@')
      expect(result._meta?.['agent-comm/error']).toMatchObject({ code: 'STORAGE' })
    }
    // Still serving: the connection was never closed.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0)
    expect(stderr()).toContain('cannot serve tool calls')
    expect(stderr()).toContain('Could not open the database: Could not connect to PostgreSQL at 127.0.0.1:1')
  })

  it('writes nothing but JSON-RPC frames to stdout, even with debug logs and bad input, and exits when stdin ends', async () => {
    const dir = tempDir()
    const run = spawnBin([], { AGENT_COMM_DB_PATH: join(dir, 'spool.db'), AGENT_COMM_LOG_LEVEL: 'DEBUG' })
    const stdin = run.child.stdin!
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
    stdin.write(
      frame({ id: 4, method: 'tools/call', params: { name: 'comm_poll', arguments: { limit: 'lots' } } }),
    )
    stdin.write('this is not json\n')
    stdin.write(frame({ id: 5, method: 'tools/call', params: { name: 'comm_no_such_tool', arguments: {} } }))
    stdin.write(frame({ id: 6, method: 'no/such/method' }))
    stdin.write(frame({ id: 7, method: 'resources/read', params: { uri: 'agent-comm://inbox/builder' } }))
    // Calls in flight together may finish in any order: the send goes once the registration is answered.
    await expect.poll(() => run.stdout().includes('"id":3}') || run.stdout().includes('"id":3,')).toBe(true)
    stdin.write(
      frame({
        id: 8,
        method: 'tools/call',
        params: {
          name: 'comm_send',
          arguments: { from_agent: 'builder', to_agent: 'builder', body: 'héllo\nworld' },
        },
      }),
    )
    // Wait for every answer before closing stdin: the server stops when its input ends.
    const answered = () =>
      [1, 2, 3, 4, 5, 6, 7, 8].every(
        (id) => run.stdout().includes(`"id":${id}}`) || run.stdout().includes(`"id":${id},`),
      )
    await expect.poll(answered).toBe(true)
    stdin.end()
    expect(await run.exited).toBe(0)

    const lines = run.stdout().split('\n')
    expect(lines.at(-1)).toBe('')
    const frames = lines.slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const f of frames) {
      expect(f.jsonrpc).toBe('2.0')
      expect('result' in f || 'error' in f || 'method' in f).toBe(true)
    }
    const byId = new Map(frames.filter((f) => 'id' in f && f.id !== null).map((f) => [f.id, f]))
    expect([...byId.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    // The line that is not JSON was answered too, with id null (JSON-RPC 2.0 Parse error).
    expect(frames.filter((f) => f.id === null)).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } },
    ])
    expect((byId.get(2)!.result as { tools: unknown[] }).tools).toHaveLength(18)
    expect(byId.get(3)!.result).toMatchObject({ structuredContent: { agent: { agentId: 'builder' } } })
    expect(byId.get(4)!.result).toMatchObject({ isError: true })
    expect(byId.get(5)!.result).toMatchObject({ isError: true })
    expect(byId.get(6)!.error).toMatchObject({ code: -32601 })
    expect(byId.get(7)!.result).toMatchObject({ contents: [{ uri: 'agent-comm://inbox/builder' }] })
    expect(byId.get(8)!.result).toMatchObject({ structuredContent: { recipients: ['builder'] } })
    // The logs went to stderr.
    expect(run.stderr()).toContain('[agent-comm-mcp] [info] agent-comm MCP server ready on stdio')
  })

  it('serves the SDK client: tools, an exchange, and a long poll woken by another process', async () => {
    const dir = tempDir()
    const dbPath = join(dir, 'spool.db')
    const { client } = await stdioClient({ AGENT_COMM_DB_PATH: dbPath })
    expect((await client.listTools()).tools).toHaveLength(18)
    await ok(client, 'comm_register_agent', { agent_id: 'builder', capabilities: ['code'] })

    // Another process on the same spool file: the architect, sending with the library.
    const architect = await createCoordinator(loadConfig({ AGENT_COMM_DB_PATH: dbPath }))
    onCleanup(() => architect.close())
    await architect.register({ agentId: 'architect' })

    let returned = false
    const polling = call(client, 'comm_poll', { agent_id: 'builder', wait_seconds: 60 }).then((result) => {
      returned = true
      return result
    })
    // Usually enough for the server to begin waiting, so the send below wakes it; if a busy machine is slower,
    // the poll finds the message at once instead, and the test still holds (the wake itself is tested in
    // exchange.test.ts, where the wait can be observed).
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(returned).toBe(false)
    await architect.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'from afar' })
    const result = await polling
    const [claimed] = (result.structuredContent as { messages: Claimed[] }).messages
    expect(claimed!.message.body).toBe('from afar')

    await ok(client, 'comm_reply', { message_id: claimed!.message.id, body: 'got it' })
    await ok(client, 'comm_ack', {
      message_id: claimed!.message.id,
      agent_id: 'builder',
      receipt: claimed!.lease.receipt,
    })
    const [answer] = await architect.poll('architect')
    expect(answer!.message).toMatchObject({ body: 'got it', subject: 'Re: Task' })
    expect((await architect.status(claimed!.message.id)).deliveries[0]!.status).toBe('acked')
  })

  it('manages relay secrets in AGENT_COMM_RELAY_DATA_DIR', async () => {
    const dir = tempDir()
    const { client } = await stdioClient({
      AGENT_COMM_DB_PATH: join(dir, 'spool.db'),
      AGENT_COMM_RELAY_DATA_DIR: join(dir, 'relay'),
    })
    const issued = await ok<{ secret: string; envVar: string }>(client, 'comm_relay_gen_secret', {
      agent_id: 'builder',
    })
    expect(issued.envVar).toBe('AGENT_COMM_SECRET_BUILDER')
    const listed = await call(client, 'comm_relay_list_secrets')
    expect(textOf(listed)).toContain('builder')
    expect(JSON.stringify(listed)).not.toContain(issued.secret)
  })

  it('closes cleanly, with the database intact, when an oversized line closes its transport', async () => {
    const dir = tempDir()
    const db = join(dir, 'spool.db')
    const run = spawnBin([], { AGENT_COMM_DB_PATH: db })
    const stdin = run.child.stdin!
    stdin.on('error', () => {
      // The server stops reading once the line is too long: the rest of the write may fail.
    })
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
    stdin.write(
      frame({
        id: 2,
        method: 'tools/call',
        params: { name: 'comm_register_agent', arguments: { agent_id: 'builder', capabilities: ['code'] } },
      }),
    )
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (!run.stdout().includes('"id":2')) return
        run.child.stdout!.off('data', check)
        resolve()
      }
      run.child.stdout!.on('data', check)
      check()
    })
    // More than the SDK's 10 MB line buffer, without a newline.
    const chunk = 'x'.repeat(1024 * 1024)
    for (let i = 0; i < 12; i++) stdin.write(chunk)
    expect(await run.exited).toBe(0)
    const coordinator = await createCoordinator(loadConfig({ AGENT_COMM_DB_PATH: db }))
    onCleanup(() => coordinator.close())
    expect((await coordinator.agent('builder'))?.capabilities).toEqual(['code'])
  })

  it('prints help, and refuses unknown flags with exit code 2', async () => {
    const help = spawnBin(['--help'], {})
    expect(await help.exited).toBe(0)
    expect(help.stdout()).toContain('Usage: agent-comm-mcp')
    expect(help.stdout()).toContain('AGENT_COMM_DB_PATH')
    const bad = spawnBin(['--frobnicate'], {})
    expect(await bad.exited).toBe(2)
    expect(bad.stderr()).toContain('--frobnicate')
    expect(bad.stdout()).toBe('')
  })

  it('refuses --http beyond loopback without a token with exit code 2, as agent-comm mcp does', async () => {
    const run = spawnBin(['--http', '--host', '0.0.0.0', '--port', '0'], {})
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('without a bearer token')
  })

  it('names the variable and exits 1 when stdin ends, if the configuration is invalid', async () => {
    const run = spawnBin([], { AGENT_COMM_TTL_HOURS: 'soon' })
    run.child.stdin!.end()
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toContain('AGENT_COMM_TTL_HOURS')
    expect(run.stdout()).toBe('')
  })
})
