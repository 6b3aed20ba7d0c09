import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AgentCard, AgentCard as AgentCardCodec, Role, TaskState } from '@a2a-js/sdk'
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  ServerCallContext,
} from '@a2a-js/sdk/server'
import { afterEach, describe, expect, it } from 'vitest'
import { project, registerAgents, runCli } from './helpers.js'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

/**
 * An external A2A agent (the SDK's own server), only for `Bearer <token>`: it echoes, except `ask`, whose
 * task asks "which color?" (input-required) and completes with the answer to it.
 */
async function echoAgent(token: string): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const card: AgentCard = {
    name: 'echo',
    description: 'Echoes',
    supportedInterfaces: [
      { url: `${base}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
    ],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: false, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  }
  const executor: AgentExecutor = {
    async execute(context, bus) {
      const text = context.userMessage.parts
        .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
        .join('')
      const part = (value: string) => ({
        content: { $case: 'text' as const, value },
        metadata: undefined,
        filename: '',
        mediaType: '',
      })
      const agentMessage = (value: string) => ({
        messageId: randomUUID(),
        contextId: context.contextId,
        taskId: context.taskId,
        role: Role.ROLE_AGENT,
        parts: [part(value)],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      })
      if (text === 'ask' || context.task !== undefined) {
        const answered = context.task !== undefined
        bus.publish(
          AgentEvent.task({
            id: context.taskId,
            contextId: context.contextId,
            status: {
              state: answered ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_INPUT_REQUIRED,
              message: answered ? undefined : agentMessage('which color?'),
              timestamp: new Date().toISOString(),
            },
            artifacts: answered
              ? [
                  {
                    artifactId: 'a1',
                    name: 'paint',
                    description: '',
                    parts: [part(`painted ${text} (task ${context.taskId})`)],
                    metadata: undefined,
                    extensions: [],
                  },
                ]
              : [],
            history: [...(context.task?.history ?? []), context.userMessage],
            metadata: undefined,
          }),
        )
        bus.finished()
        return
      }
      bus.publish(
        AgentEvent.message({
          messageId: randomUUID(),
          contextId: context.contextId,
          taskId: '',
          role: Role.ROLE_AGENT,
          parts: [
            {
              content: { $case: 'text', value: `echo: ${text}` },
              metadata: undefined,
              filename: '',
              mediaType: '',
            },
          ],
          metadata: undefined,
          extensions: [],
          referenceTaskIds: [],
        }),
      )
      bus.finished()
    },
    async cancelTask() {},
  }
  const transport = new JsonRpcTransportHandler(
    new DefaultRequestHandler(card, new InMemoryTaskStore(), executor),
  )
  server.on('request', (request, response) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', async () => {
      if (request.method === 'GET') {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(AgentCardCodec.toJSON(card)))
        return
      }
      if (request.headers.authorization !== `Bearer ${token}`) {
        response.writeHead(401).end()
        return
      }
      const result = await transport.handle(
        body,
        new ServerCallContext({ requestedVersion: String(request.headers['a2a-version'] ?? '0.3') }),
      )
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result))
    })
  })
  return `${base}/.well-known/agent-card.json`
}

describe('agent-comm bridge --a2a', () => {
  it('sends the remote agent its own token (AGENT_COMM_A2A_TOKEN_<AGENT>) before the shared one', async () => {
    const cardUrl = await echoAgent('partner-token')
    const p = project()
    await registerAgents(p, 'architect')
    await p.ok(['register', 'partner-b', '-c', 'echo', '-d', 'remote', '--a2a-url', cardUrl])
    await p.ok(['send', 'architect', 'partner-b', 'hello', '-s', 'Hi'])
    const env = {
      ...p.env,
      AGENT_COMM_A2A_TOKEN: 'shared-token',
      AGENT_COMM_A2A_TOKEN_PARTNER_B: 'partner-token',
    }
    const run = await runCli(['bridge', 'partner-b', '--a2a', '--once'], { cwd: p.dir, env })
    expect(run.stdout).toContain('1 processed, 1 succeeded, 0 failed')
    const polled = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
    expect(polled.messages[0]?.message.body).toBe('echo: hello')
    // With only the shared token, the agent refuses: the message fails.
    await p.ok(['send', 'architect', 'partner-b', 'again', '-s', 'Hi'])
    const refused = await runCli(['bridge', 'partner-b', '--a2a', '--once'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_A2A_TOKEN: 'shared-token' },
    })
    expect(refused.stdout).toContain('1 processed, 0 succeeded, 1 failed')
  })
  it('continues a remote task that asked for input, across two bridge --once runs', async () => {
    const cardUrl = await echoAgent('t')
    const p = project()
    await registerAgents(p, 'architect')
    await p.ok(['register', 'painter', '-c', 'paint', '-d', 'remote', '--a2a-url', cardUrl])
    await p.ok(['send', 'architect', 'painter', 'ask', '-s', 'Paint'])
    const env = { ...p.env, AGENT_COMM_A2A_TOKEN: 't' }
    expect((await runCli(['bridge', 'painter', '--a2a', '--once'], { cwd: p.dir, env })).code).toBe(0)
    const asked = await p.json<{
      messages: { message: { id: string; body: string; payload: { data: { a2a: { taskId: string } } } } }[]
    }>(['poll', 'architect'])
    const question = asked.messages[0]!.message
    expect(question.body).toBe('which color?')
    await p.ok(['send', 'architect', 'painter', 'blue', '-s', 'Re: Paint', '--reply-to', question.id])
    // A new process: the remote task is found again in the conversation.
    expect((await runCli(['bridge', 'painter', '--a2a', '--once'], { cwd: p.dir, env })).code).toBe(0)
    const answered = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
    expect(answered.messages.map((m) => m.message.body)).toContain(
      `painted blue (task ${question.payload.data.a2a.taskId})`,
    )
  })
})
