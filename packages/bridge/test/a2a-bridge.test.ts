import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
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
import { A2ABridge, BridgeRunner, fetchAgentCard } from '../src/index.js'
import { openCoordinator } from './helpers.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/** An external A2A agent made with the SDK's own server: it answers `shout: <TEXT>` and checks a bearer token. */
async function externalAgent(options: { token?: string; fail?: boolean } = {}) {
  const seenAuth: (string | undefined)[] = []
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const card: AgentCard = {
    name: 'shouter',
    description: 'Shouts back',
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
      const base = { taskId: context.taskId, contextId: context.contextId, metadata: undefined }
      bus.publish(
        AgentEvent.task({
          id: context.taskId,
          contextId: context.contextId,
          status: {
            state: TaskState.TASK_STATE_SUBMITTED,
            message: undefined,
            timestamp: new Date().toISOString(),
          },
          artifacts: [],
          history: [context.userMessage],
          metadata: undefined,
        }),
      )
      if (options.fail === true) {
        bus.publish(
          AgentEvent.statusUpdate({
            ...base,
            status: {
              state: TaskState.TASK_STATE_FAILED,
              message: {
                messageId: randomUUID(),
                contextId: context.contextId,
                taskId: context.taskId,
                role: Role.ROLE_AGENT,
                parts: [
                  {
                    content: { $case: 'text', value: 'cannot shout today' },
                    metadata: undefined,
                    filename: '',
                    mediaType: '',
                  },
                ],
                metadata: undefined,
                extensions: [],
                referenceTaskIds: [],
              },
              timestamp: new Date().toISOString(),
            },
          }),
        )
      } else {
        bus.publish(
          AgentEvent.artifactUpdate({
            ...base,
            artifact: {
              artifactId: 'a1',
              name: 'shout',
              description: '',
              parts: [
                {
                  content: { $case: 'text', value: `shout: ${text.toUpperCase()}` },
                  metadata: undefined,
                  filename: '',
                  mediaType: '',
                },
              ],
              metadata: undefined,
              extensions: [],
            },
            append: false,
            lastChunk: true,
          }),
        )
        bus.publish(
          AgentEvent.statusUpdate({
            ...base,
            status: {
              state: TaskState.TASK_STATE_COMPLETED,
              message: undefined,
              timestamp: new Date().toISOString(),
            },
          }),
        )
      }
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
      if (request.method === 'GET' && request.url === '/.well-known/agent-card.json') {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(AgentCardCodec.toJSON(card)))
        return
      }
      if (request.method !== 'POST' || request.url !== '/rpc') {
        response.writeHead(404).end()
        return
      }
      seenAuth.push(request.headers.authorization)
      if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
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
  return { cardUrl: `${base}/.well-known/agent-card.json`, base, seenAuth }
}

describe('A2ABridge', () => {
  it("forwards a message to an external A2A agent and sends its artifact back as the reply, with the agent's token", async () => {
    const agent = await externalAgent({ token: 'remote-secret' })
    const coord = await openCoordinator()
    await coord.register({ agentId: 'shouter', metadata: { a2a: { url: agent.cardUrl } } })
    const sent = await coord.send({
      fromAgent: 'architect',
      toAgent: 'shouter',
      subject: 'Loud',
      body: 'hello',
    })
    const bridge = new A2ABridge({ cardUrl: agent.cardUrl, token: 'remote-secret', pollIntervalMs: 10 })
    expect(await bridge.isAvailable()).toBe(true)
    const summary = await new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge }).run({
      once: true,
    })
    expect(summary).toMatchObject({ processed: 1, succeeded: 1 })
    const [reply] = await coord.poll('architect')
    expect(reply?.message.body).toBe('shout: HELLO')
    expect(reply?.message.routing.replyTo).toBe(sent.messageId)
    expect(reply?.message.payload).toMatchObject({
      type: 'task_result',
      data: { a2a: { state: 'completed' } },
    })
    expect(agent.seenAuth.every((a) => a === 'Bearer remote-secret')).toBe(true)
  })

  it("dead-letters a message whose A2A task failed, with the agent's reason", async () => {
    const agent = await externalAgent({ fail: true })
    const coord = await openCoordinator()
    await coord.register({ agentId: 'shouter' })
    await coord.send({ fromAgent: 'architect', toAgent: 'shouter', subject: 'Loud', body: 'hello' })
    const bridge = new A2ABridge({ cardUrl: agent.cardUrl, pollIntervalMs: 10 })
    const summary = await new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge }).run({
      once: true,
    })
    expect(summary).toMatchObject({ processed: 1, succeeded: 0 })
    const [failed] = await coord.listFailed({ agent: 'shouter' })
    expect(JSON.stringify(failed)).toContain('cannot shout today')
  })

  it('says clearly when the card is unreachable or invalid', async () => {
    const agent = await externalAgent()
    await expect(fetchAgentCard(`${agent.base}/missing.json`)).rejects.toThrow(/answered HTTP 404/)
    await expect(fetchAgentCard('http://127.0.0.1:9/card.json')).rejects.toThrow(/unreachable/)
    const bad = createServer((_request, response) => {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"name":"x","supportedInterfaces":[]}')
    })
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve))
    servers.push(bad)
    await expect(
      fetchAgentCard(`http://127.0.0.1:${(bad.address() as AddressInfo).port}/card.json`),
    ).rejects.toThrow(/invalid: supportedInterfaces/)
  })
})
