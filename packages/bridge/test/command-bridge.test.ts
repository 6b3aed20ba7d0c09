import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isAgentCommError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { BridgeRunner, CommandBridge } from '../src/index.js'
import { agentScript, openCoordinator, tempDir } from './helpers.js'

const command = (
  mode: string,
  extra: string[] = [],
  options: Partial<ConstructorParameters<typeof CommandBridge>[0]> = {},
) =>
  new CommandBridge({
    command: process.execPath,
    args: [agentScript, mode, ...extra],
    env: { PATH: process.env.PATH },
    ...options,
  })

describe('CommandBridge options', () => {
  for (const command of ['', '   ']) {
    it(`refuses an empty command (${JSON.stringify(command)}) with a VALIDATION error naming the option`, () => {
      let refused: unknown
      try {
        new CommandBridge({ command })
      } catch (error) {
        refused = error
      }
      expect(isAgentCommError(refused, 'VALIDATION')).toBe(true)
      expect(refused).toMatchObject({
        message: expect.stringContaining('CommandBridge command'),
        issues: [{ path: 'command', message: expect.any(String) }],
        hint: expect.stringContaining('command'),
      })
    })
  }
})

describe('CommandBridge with a real child-process agent', () => {
  it('sends the command’s answer back in the same conversation and acks the original', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task: Auth',
      body: 'implement auth',
      payload: { type: 'task_assignment', data: { feature: 'auth' } },
    })
    const summary = await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: command('echo'),
    }).run({ once: true })
    expect(summary).toEqual({ processed: 1, succeeded: 1, failed: 0 })
    const [reply] = await coord.poll('architect')
    expect(reply?.message).toMatchObject({
      fromAgent: 'builder',
      toAgent: 'architect',
      subject: 'Re: Task: Auth',
      body: 'echo: implement auth',
      payload: { type: 'task_result', data: 'echo: implement auth' },
      routing: { conversationId: task.message.routing.conversationId, replyTo: task.messageId },
    })
    expect((await coord.status(task.messageId)).deliveries[0]?.status).toBe('acked')
  })

  it('passes the message in AGENT_COMM_* variables too', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Sub\nject',
      body: 'x',
    })
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge: command('env') }).run({
      once: true,
    })
    const [reply] = await coord.poll('architect')
    expect(JSON.parse(reply!.message.body)).toEqual({
      AGENT_COMM_MESSAGE_ID: task.messageId,
      AGENT_COMM_FROM: 'architect',
      AGENT_COMM_TO: 'builder',
      AGENT_COMM_SUBJECT: 'Sub\nject',
      AGENT_COMM_CONVERSATION_ID: task.message.routing.conversationId,
      AGENT_COMM_PRIORITY: 'normal',
      AGENT_COMM_ATTEMPT: '1',
    })
  })

  it("gives the command the message's W3C trace context in TRACEPARENT and TRACESTATE", async () => {
    const coord = await openCoordinator()
    const trace = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'v=1',
    }
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x', metadata: { trace } })
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge: command('trace') }).run({
      once: true,
    })
    const [reply] = await coord.poll('architect')
    // No SDK is registered: the no-op forward span carries the message's own context on.
    expect(JSON.parse(reply!.message.body)).toEqual(trace)
    expect(reply!.message.metadata?.trace).toEqual(trace)
  })

  it("withholds agent-comm's credentials from the command's environment unless the operator passes one", async () => {
    const coord = await openCoordinator()
    const env = {
      PATH: process.env.PATH,
      AGENT_COMM_SECRET_BUILDER: 'acs_relay-secret',
      AGENT_COMM_A2A_TOKEN: 'a2a-token',
      AGENT_COMM_A2A_TOKEN_PARTNER: 'partner-token',
      AGENT_COMM_RELAY_SECRETS_KEY: 'secrets-key',
      AGENT_COMM_RELAY_ADMIN_SECRET: 'admin-secret',
      AGENT_COMM_MCP_TOKEN: 'mcp-token',
      AGENT_COMM_BRIDGE_WEBHOOK_AUTHORIZATION: 'Bearer hook',
      AGENT_COMM_RELAY_DATABASE_URL: 'postgres://relay:db-password@db/agents',
      AGENT_COMM_DB_PATH: '/srv/agents/coordination.db',
      AGENT_COMM_LOG_LEVEL: 'info',
    }
    const seen = async (keepEnv?: string[]) => {
      await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
      const bridge = command('env', [], { env, ...(keepEnv === undefined ? {} : { keepEnv }) })
      await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge }).run({ once: true })
      const [reply] = await coord.poll('architect')
      await coord.ack(reply!.message.id, 'architect', { receipt: reply!.lease.receipt })
      return JSON.parse(reply!.message.body) as Record<string, string>
    }
    const vars = await seen()
    // What the command needs to find the database and its own settings still reaches it…
    expect(vars).toMatchObject({
      AGENT_COMM_DB_PATH: '/srv/agents/coordination.db',
      AGENT_COMM_LOG_LEVEL: 'info',
    })
    // …none of the credentials do.
    for (const value of Object.values(vars)) {
      expect(value).not.toMatch(/secret|token|key|hook|password/)
    }
    const passed = await seen(['AGENT_COMM_SECRET_BUILDER'])
    expect(passed.AGENT_COMM_SECRET_BUILDER).toBe('acs_relay-secret')
    expect(passed.AGENT_COMM_A2A_TOKEN).toBeUndefined()
  })

  it('nacks with stderr when the command exits 1, retries, then dead-letters after max attempts', async () => {
    const coord = await openCoordinator()
    const task = await coord.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'bad input' },
      { maxAttempts: 2 },
    )
    const runner = new BridgeRunner({ coordinator: coord, agent: 'builder', bridge: command('fail') })
    expect(await runner.run({ once: true })).toEqual({ processed: 1, succeeded: 0, failed: 1 })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({
      status: 'queued',
      attempt: 1,
      lastError: 'boom: bad input',
    })
    await runner.run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'failed', attempt: 2 })
    expect(await coord.poll('architect')).toEqual([])
  })

  it('kills a hanging command and everything it started at the timeout, and nacks the message', async () => {
    const coord = await openCoordinator()
    const pidFile = join(tempDir(), 'grandchild.pid')
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'hang' })
    // A run that ends at all shows the kill: the command and its grandchild would otherwise hang forever.
    const summary = await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: command('hang', [pidFile], { killGraceMs: 200 }),
      // Long enough for the agent to start its grandchild on a loaded CI machine (Node takes seconds to start
      // at load 14); the point is what happens at the timeout, not how short it can be.
      timeoutMs: 10_000,
    }).run({ once: true })
    expect(summary.failed).toBe(1)
    const delivery = (await coord.status(task.messageId)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'queued', attempt: 1 })
    expect(delivery?.lastError).toMatch(/timed out after 10000 ms/)
    const grandchild = Number(readFileSync(pidFile, 'utf8'))
    await expect.poll(() => isAlive(grandchild)).toBe(false)
  })

  it('hands message text to the command byte-for-byte and never executes it', async () => {
    const coord = await openCoordinator()
    const marker = join(tempDir(), 'pwned')
    const body = [
      `; touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `' " \\ | & && || > < * ? ~ { } [ ] #`,
      'line one\nline two\r\n\ttab',
      'unicode: héllo 日本 🚀',
    ].join('\n')
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', subject: `$(touch ${marker})`, body })
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge: command('exact') }).run({
      once: true,
    })
    const [reply] = await coord.poll('architect')
    expect(reply?.message.body).toBe(body)
    expect(existsSync(marker)).toBe(false)
  })

  it('reports availability: the health check passes, a missing command does not', async () => {
    const healthy = new CommandBridge({
      command: process.execPath,
      args: [agentScript],
      env: { PATH: process.env.PATH },
    })
    expect(await healthy.isAvailable()).toBe(true)
    expect(await command('fail').isAvailable()).toBe(false)
    expect(await new CommandBridge({ command: '/nonexistent/agent', env: {} }).isAvailable()).toBe(false)
    expect(
      await new CommandBridge({
        command: 'node',
        env: { PATH: process.env.PATH },
        healthArgs: null,
      }).isAvailable(),
    ).toBe(true)
    expect(
      await new CommandBridge({
        command: 'no-such-agent-cmd',
        env: { PATH: process.env.PATH },
        healthArgs: null,
      }).isAvailable(),
    ).toBe(false)
  })

  it('says why the runtime is not available: not on PATH, or the health check exit code', async () => {
    expect(
      await new CommandBridge({
        command: 'no-such-agent-cmd',
        env: { PATH: process.env.PATH },
      }).checkAvailability(),
    ).toEqual({ available: false, reason: "command 'no-such-agent-cmd' was not found on PATH" })
    expect(await new CommandBridge({ command: '/nonexistent/agent', env: {} }).checkAvailability()).toEqual({
      available: false,
      reason: '/nonexistent/agent does not exist or is not executable',
    })
    const failing = await new CommandBridge({
      command: process.execPath,
      env: { PATH: process.env.PATH },
      healthArgs: ['-e', 'process.exit(3)'],
    }).checkAvailability()
    expect(failing.available).toBe(false)
    expect(failing.reason).toMatch(/health check .* exited with code 3/)
  })

  it('gives up on a health check that runs longer than healthTimeoutMs, saying so', async () => {
    const slow = await new CommandBridge({
      command: process.execPath,
      env: { PATH: process.env.PATH },
      healthArgs: ['-e', 'setTimeout(() => {}, 60_000)'],
      healthTimeoutMs: 100,
    }).checkAvailability()
    expect(slow).toEqual({
      available: false,
      reason: expect.stringMatching(/health check .* did not finish within 0\.1 s$/),
    })
  })

  for (const healthTimeoutMs of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
    it(`refuses healthTimeoutMs ${healthTimeoutMs} with a VALIDATION error naming the option`, () => {
      let refused: unknown
      try {
        new CommandBridge({ command: 'node', healthTimeoutMs })
      } catch (error) {
        refused = error
      }
      expect(isAgentCommError(refused, 'VALIDATION')).toBe(true)
      expect(refused).toMatchObject({
        message: expect.stringContaining('CommandBridge healthTimeoutMs'),
        issues: [{ path: 'healthTimeoutMs' }],
      })
    })
  }

  it('fails a message clearly when the command cannot start', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new CommandBridge({ command: '/nonexistent/agent', env: {} }),
    }).run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]?.lastError).toMatch(
      /could not start \/nonexistent\/agent/,
    )
  })
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
