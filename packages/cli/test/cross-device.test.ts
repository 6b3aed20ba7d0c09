import { createServer } from 'node:net'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { describe, expect, it } from 'vitest'
import { BIN, cleanEnv, exited, firstLine, type Run, runCli, spawnCli, tempDir } from './helpers.js'

interface Claimed {
  message: { id: string; fromAgent: string; body: string; subject: string }
  lease: { receipt: string }
}

/**
 * The seed's cross-device setup, on one machine: "machine B" runs `relay start` with its own data folder
 * and issues the secrets; "machine A" has its own database, in which agent-b is registered as an http
 * agent with the relay's URL. Every command runs as its own process.
 */
async function crossDevice() {
  const machineB = tempDir()
  const machineA = tempDir()
  const relay = spawnCli(['relay', 'start', '--port', '0', '--data-dir', 'relay-data', '--json'], {
    cwd: machineB,
    env: cleanEnv({ AGENT_COMM_RELAY_LOG_LEVEL: 'warn' }),
  })
  const { url } = JSON.parse(await firstLine(relay)) as { url: string }
  const secretOf = async (agent: string): Promise<string> => {
    const gen = await runCli(['relay', 'gen-secret', agent, '--data-dir', 'relay-data', '--json'], {
      cwd: machineB,
      env: cleanEnv(),
    })
    expect(gen.code).toBe(0)
    return (JSON.parse(gen.stdout) as { secret: string }).secret
  }
  const secrets = {
    AGENT_COMM_SECRET_AGENT_A: await secretOf('agent-a'),
    AGENT_COMM_SECRET_AGENT_B: await secretOf('agent-b'),
  }
  const db = join(machineA, 'local.db')
  /** Runs on machine A with the given secrets in the environment. */
  const onA = (args: readonly string[], env: Record<string, string> = {}): Promise<Run> =>
    runCli(args, { cwd: machineA, env: cleanEnv({ AGENT_COMM_DB_PATH: db, ...env }) })
  return { relay, url, secrets, db, onA }
}

describe('cross-device messaging through the relay', () => {
  it('sends to an http agent through the relay; the agent polls and acks through it', async () => {
    const { relay, url, secrets, onA } = await crossDevice()
    const register = await onA([
      'register',
      'agent-b',
      '-c',
      'review',
      '-d',
      'machine-b',
      '--transport-type',
      'http',
      '--relay-url',
      url,
    ])
    expect(register.code).toBe(0)
    expect(register.stdout).toContain('transport=http')
    expect((await onA(['register', 'agent-a', '-c', 'plan', '-d', 'machine-a'])).code).toBe(0)

    const send = await onA(['send', 'agent-a', 'agent-b', 'hi', '-s', 'Greeting', '--json'], {
      AGENT_COMM_SECRET_AGENT_A: secrets.AGENT_COMM_SECRET_AGENT_A,
    })
    expect(send.code).toBe(0)
    const sent = JSON.parse(send.stdout) as {
      messageId: string
      routes: { transport: string; recipients: string[] }[]
    }
    expect(sent.routes).toEqual([{ transport: 'http', recipients: ['agent-b'] }])

    // The message lives on the relay, not in machine A's database.
    const stats = JSON.parse((await onA(['stats'])).stdout) as { totalMessages: number }
    expect(stats.totalMessages).toBe(0)

    const poll = await onA(['poll', 'agent-b', '--json'], {
      AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B,
    })
    expect(poll.code).toBe(0)
    const polled = JSON.parse(poll.stdout) as { count: number; messages: Claimed[] }
    expect(polled.count).toBe(1)
    expect(polled.messages[0]!.message).toMatchObject({
      id: sent.messageId,
      fromAgent: 'agent-a',
      subject: 'Greeting',
      body: 'hi',
    })

    const ack = await onA(
      ['ack', sent.messageId, 'agent-b', '--receipt', polled.messages[0]!.lease.receipt, '--json'],
      { AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B },
    )
    expect(ack.code).toBe(0)
    expect(JSON.parse(ack.stdout)).toMatchObject({
      messageId: sent.messageId,
      status: 'acked',
      alreadyAcked: false,
    })
    const empty = await onA(['poll', 'agent-b', '--json'], {
      AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B,
    })
    expect(JSON.parse(empty.stdout)).toMatchObject({ count: 0 })

    relay.kill('SIGTERM')
    expect(await exited(relay)).toBe(0)
  })

  it('answers a relayed message by id (send --reply-to) and finds it with status, signing as an http agent', async () => {
    const { relay, url, secrets, onA } = await crossDevice()
    const b = { AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B }
    const http = ['-c', 'review', '-d', 'machine-b', '--transport-type', 'http', '--relay-url', url]
    expect((await onA(['register', 'agent-b', ...http])).code).toBe(0)
    expect((await onA(['register', 'agent-a', '-c', 'plan', '-d', 'machine-a'])).code).toBe(0)
    const sent = await onA(['send', 'agent-a', 'agent-b', 'review PR 7', '-s', 'PR 7', '-q'], {
      AGENT_COMM_SECRET_AGENT_A: secrets.AGENT_COMM_SECRET_AGENT_A,
    })
    expect(sent.code).toBe(0)
    const id = sent.stdout.trim()

    // A fresh process knows the message only through the relay; it asks as agent-b, a recipient.
    const status = await onA(['status', id, '--json'], b)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ message: { id, subject: 'PR 7' } })
    const reply = await onA(['send', 'agent-b', 'agent-a', 'approved', '--reply-to', id, '--json'], b)
    expect(reply.code, reply.stdout + reply.stderr).toBe(0)
    expect(JSON.parse(reply.stdout)).toMatchObject({
      message: { subject: 'Re: PR 7', routing: { replyTo: id } },
      recipients: ['agent-a'],
    })

    // Without a secret to ask the relay with, an unknown id is "not found" (exit 3), naming the relay.
    const unknown = await onA(['status', 'msg_unknown', '--json'])
    expect(unknown.code).toBe(3)
    expect(JSON.parse(unknown.stdout).error).toMatchObject({
      code: 'MESSAGE_NOT_FOUND',
      hint: expect.stringContaining("http (agent 'agent-b')"),
    })
    relay.kill('SIGTERM')
    expect(await exited(relay)).toBe(0)
  })

  it('waits through the relay for the reply to a request an http agent sent (request, then reply)', async () => {
    const { relay, url, secrets, onA } = await crossDevice()
    const http = ['-c', 'work', '-d', 'elsewhere', '--transport-type', 'http', '--relay-url', url]
    for (const agent of ['agent-a', 'agent-b']) expect((await onA(['register', agent, ...http])).code).toBe(0)
    const requesting = onA(
      ['request', 'agent-a', 'agent-b', 'ready to ship?', '--wait', '300', '--json'],
      secrets,
    )
    const poll = await onA(['poll', 'agent-b', '--wait', '300', '--json'], secrets)
    const [asked] = (JSON.parse(poll.stdout) as { messages: Claimed[] }).messages
    expect(asked?.message.body).toBe('ready to ship?')
    const reply = await onA(['reply', asked!.message.id, 'agent-b', 'ship it'], secrets)
    expect(reply.code, reply.stderr).toBe(0)
    const answered = await requesting
    expect(answered.code, answered.stderr).toBe(0)
    expect(JSON.parse(answered.stdout)).toMatchObject({ reply: { body: 'ship it', fromAgent: 'agent-b' } })
    relay.kill('SIGTERM')
    expect(await exited(relay)).toBe(0)
  })

  it('follows an http agent: a message sent later arrives through the relay, and SIGTERM stops it', async () => {
    const { url, secrets, db, onA } = await crossDevice()
    await onA([
      'register',
      'agent-b',
      '-c',
      'review',
      '-d',
      'machine-b',
      '--transport-type',
      'http',
      '--relay-url',
      url,
    ])
    const follow = spawnCli(['poll', 'agent-b', '--follow'], {
      env: cleanEnv({ AGENT_COMM_DB_PATH: db, AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B }),
    })
    let stdout = ''
    let stderr = ''
    follow.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    follow.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    await expect.poll(() => stderr).toContain('Following messages for agent-b')
    const send = await onA(['send', 'agent-a', 'agent-b', 'later'], {
      AGENT_COMM_SECRET_AGENT_A: secrets.AGENT_COMM_SECRET_AGENT_A,
    })
    expect(send.code).toBe(0)
    await expect.poll(() => stdout).toContain('Body: later')
    expect(stdout).toContain(`ID: ${send.stdout.trim()}`)
    follow.kill('SIGTERM')
    expect(await exited(follow)).toBe(0)
  })

  it('says which variable to set, and how to get the secret, when it is missing', async () => {
    const { url, secrets, onA } = await crossDevice()
    await onA([
      'register',
      'agent-b',
      '-c',
      'review',
      '-d',
      'machine-b',
      '--transport-type',
      'http',
      '--relay-url',
      url,
    ])
    const poll = await onA(['poll', 'agent-b'])
    expect(poll.code).toBe(2)
    expect(poll.stdout).toBe('')
    expect(poll.stderr).toBe(
      "Error: No relay secret for agent 'agent-b'\nSet AGENT_COMM_SECRET_AGENT_B to the secret printed by 'agent-comm relay gen-secret agent-b' on the relay.\n",
    )
    const send = await onA(['send', 'agent-a', 'agent-b', 'hi', '--json'], {
      AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B,
    })
    expect(send.code).toBe(2)
    expect(JSON.parse(send.stdout).error).toMatchObject({
      code: 'CONFIG',
      hint: expect.stringContaining('AGENT_COMM_SECRET_AGENT_A'),
    })
    // A wrong secret is refused by the relay.
    const wrong = await onA(['poll', 'agent-b'], {
      AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_A,
    })
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(
      /^Error: Signature check failed for agent 'agent-b'.*\n.*agent-comm relay gen-secret agent-b/,
    )
  })

  it('says to start the relay when it cannot be reached (exit 1)', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as { port: number }
    await new Promise((resolve) => closed.close(resolve))
    const dir = tempDir()
    const env = cleanEnv({
      AGENT_COMM_DB_PATH: join(dir, 'local.db'),
      AGENT_COMM_SECRET_AGENT_B: 'acs_not-checked-here',
    })
    const url = `http://127.0.0.1:${port}`
    const args = ['register', 'agent-b', '-c', 'x', '-d', 'b', '--transport-type', 'http', '--relay-url', url]
    expect((await runCli(args, { cwd: dir, env })).code).toBe(0)
    const poll = await runCli(['poll', 'agent-b'], { cwd: dir, env })
    expect(poll.code).toBe(1)
    expect(poll.stderr).toMatch(
      new RegExp(`^Error: Cannot reach the relay at ${url}.*\\n.*agent-comm relay start`),
    )
  })

  it('lets the MCP server reach http agents through the relay', async () => {
    const { url, secrets, db, onA } = await crossDevice()
    await onA([
      'register',
      'agent-b',
      '-c',
      'review',
      '-d',
      'machine-b',
      '--transport-type',
      'http',
      '--relay-url',
      url,
    ])
    const send = await onA(['send', 'agent-a', 'agent-b', 'via the relay', '--json'], {
      AGENT_COMM_SECRET_AGENT_A: secrets.AGENT_COMM_SECRET_AGENT_A,
    })
    expect(send.code).toBe(0)
    const env: Record<string, string> = { AGENT_COMM_SECRET_AGENT_B: secrets.AGENT_COMM_SECRET_AGENT_B }
    for (const [key, value] of Object.entries(cleanEnv())) if (value !== undefined) env[key] = value
    const client = new Client({ name: 'cross-device-test', version: '1.0.0' })
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--db', db],
        env,
        stderr: 'pipe',
      }),
    )
    try {
      await client.listTools()
      const result = await client.callTool({ name: 'comm_poll', arguments: { agent_id: 'agent-b' } })
      expect(result.isError).toBeFalsy()
      const { messages } = result.structuredContent as { messages: Claimed[] }
      expect(messages.map((m) => m.message.body)).toEqual(['via the relay'])
    } finally {
      await client.close()
    }
  })
})
