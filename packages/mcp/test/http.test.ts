import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { describe, expect, it } from 'vitest'
import { startHttpServer } from '../src/index.js'
import { BIN, type Claimed, ok, onCleanup, tempDir } from './helpers.js'

async function httpClient(url: string): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  onCleanup(() => client.close())
  return client
}

/** POSTs an initialize request with a chosen Host header (fetch does not let a caller set one). */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'evil', version: '1' } },
    })
    const req = request(
      url,
      {
        method: 'POST',
        headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.once('error', reject)
    req.end(body)
  })
}

describe('agent-comm-mcp over Streamable HTTP', () => {
  it('serves initialize and tools/list from the bin with --http on an ephemeral 127.0.0.1 port', async () => {
    const dir = tempDir()
    const child = spawn(process.execPath, [BIN, '--http', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', AGENT_COMM_DB_PATH: join(dir, 'spool.db') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    onCleanup(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        const found = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr)
        if (found) resolve(found[1]!)
      })
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)))
    })

    const client = await httpClient(url)
    expect(client.getServerVersion()).toMatchObject({ name: 'agent-comm' })
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, resources: { subscribe: true } })
    const { tools } = await client.listTools()
    expect(tools).toHaveLength(18)
    await ok(client, 'comm_register_agent', { agent_id: 'builder' })
    await client.close()

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stdout).toBe('')
  })

  it('stops cleanly on a SIGINT sent the moment it says it is listening', async () => {
    const dir = tempDir()
    const child = spawn(process.execPath, [BIN, '--http', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', AGENT_COMM_DB_PATH: join(dir, 'spool.db') },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const exited = new Promise<number | string | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal)),
    )
    onCleanup(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    })
    // What Ctrl-C, or a supervisor that waits for the line, does: the handler must already be in place.
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (/listening on http/.test(stderr) && child.signalCode === null) child.kill('SIGINT')
    })
    expect(await exited).toBe(0)
  })

  it('gives each client its own session on one spool, and refuses foreign Host headers', async () => {
    const dir = tempDir()
    const server = await startHttpServer({ env: {}, dbPath: join(dir, 'spool.db'), port: 0 })
    onCleanup(() => server.close())
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)

    const alice = await httpClient(server.url)
    const bob = await httpClient(server.url)
    await ok(alice, 'comm_register_agent', { agent_id: 'architect' })
    await ok(bob, 'comm_register_agent', { agent_id: 'builder' })
    await ok(alice, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'over http' })
    const polled = await ok<{ messages: Claimed[] }>(bob, 'comm_poll', { agent_id: 'builder' })
    expect(polled.messages[0]!.message.body).toBe('over http')

    // A page that rebinds evil.example to 127.0.0.1 sends its own name as Host.
    expect(await statusWithHost(server.url, 'evil.example')).toBe(403)
    expect(await statusWithHost(server.url, 'evil.example:80')).toBe(403)

    const noSession = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(noSession.status).toBe(400)
    expect(await noSession.text()).toContain('initialize')

    const unknownSession = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'not-a-session',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(unknownSession.status).toBe(404)
  })
})
