import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TaskState } from '@a2a-js/sdk'
import { AgentEvent, type AgentExecutor } from '@a2a-js/sdk/server'
import { agentMessage, startA2AAgent, textPart } from '@agent-comm/test-support/a2a-agent'
import { describe, expect, it } from 'vitest'
import {
  A2ABridge,
  a2aTokenEnvName,
  a2aTokenFromEnv,
  BridgeRunner,
  ConversationA2ASessions,
  fetchAgentCard,
} from '../src/index.js'
import { onCleanup, openCoordinator } from './helpers.js'

/** An external A2A agent made with the SDK's own server: it answers `shout: <TEXT>` and checks a bearer token. */
function externalAgent(
  options: {
    token?: string
    fail?: boolean
    /** The card says it streams; the artifact comes in two chunks. */
    streaming?: boolean
    /** The first turn asks for the volume (input-required); the next message on the task answers. */
    asks?: boolean
  } = {},
) {
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
          history: [...(context.task?.history ?? []), context.userMessage],
          metadata: undefined,
        }),
      )
      const publishStatus = (state: TaskState, says?: string) =>
        bus.publish(
          AgentEvent.statusUpdate({
            ...base,
            status: {
              state,
              message: says === undefined ? undefined : agentMessage(context, says),
              timestamp: new Date().toISOString(),
            },
          }),
        )
      const publishArtifact = (value: string, append: boolean, lastChunk: boolean) =>
        bus.publish(
          AgentEvent.artifactUpdate({
            ...base,
            artifact: {
              artifactId: 'a1',
              name: 'shout',
              description: '',
              parts: [textPart(value)],
              metadata: undefined,
              extensions: [],
            },
            append,
            lastChunk,
          }),
        )
      if (options.asks === true && context.task === undefined) {
        publishStatus(TaskState.TASK_STATE_INPUT_REQUIRED, 'how loud?')
        bus.finished()
        return
      }
      // A continued task shouts its first message at the volume given now.
      const first = context.task?.history[0]?.parts
        .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
        .join('')
      const shout = first === undefined ? text.toUpperCase() : `${first.toUpperCase()} (${text})`
      if (options.streaming === true && options.fail !== true) {
        for (const [i, chunk] of ['shout:', shout].entries()) publishArtifact(chunk, i > 0, i > 0)
        publishStatus(TaskState.TASK_STATE_COMPLETED)
        bus.finished()
        return
      }
      if (options.fail === true) {
        publishStatus(TaskState.TASK_STATE_FAILED, 'cannot shout today')
      } else {
        publishArtifact(`shout: ${shout}`, false, true)
        publishStatus(TaskState.TASK_STATE_COMPLETED)
      }
      bus.finished()
    },
    async cancelTask() {},
  }
  return startA2AAgent({
    name: 'shouter',
    description: 'Shouts back',
    executor,
    ...(options.streaming === undefined ? {} : { streaming: options.streaming }),
    ...(options.token === undefined ? {} : { token: options.token }),
    onCleanup,
  })
}

/** An HTTP server on 127.0.0.1 answering with `handler`; its base URL. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** architect sends 'hello' to shouter, and one pass of a bridge to the agent at `cardUrl` forwards it. */
async function bridgeHelloOnce(cardUrl: string) {
  const coord = await openCoordinator()
  await coord.register({ agentId: 'shouter' })
  await coord.send({ fromAgent: 'architect', toAgent: 'shouter', subject: 'Loud', body: 'hello' })
  const bridge = new A2ABridge({ cardUrl, pollIntervalMs: 10 })
  const summary = await new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge }).run({ once: true })
  return { coord, summary }
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
    // The card does not say it streams: sent, then polled.
    expect(agent.calls.map((c) => c.method)).toContain('SendMessage')
    expect(agent.calls.map((c) => c.method)).not.toContain('SendStreamingMessage')
  })

  it('streams the task from an agent whose card says it streams, its artifact chunks joined', async () => {
    const agent = await externalAgent({ streaming: true })
    const { coord, summary } = await bridgeHelloOnce(agent.cardUrl)
    expect(summary).toMatchObject({ processed: 1, succeeded: 1 })
    const [reply] = await coord.poll('architect')
    expect(reply?.message.body).toBe('shout:\n\nHELLO')
    expect(reply?.message.payload).toMatchObject({
      data: { a2a: { state: 'completed', parts: [{ text: 'shout:' }, { text: 'HELLO' }] } },
    })
    // One streaming call, no polling.
    expect(agent.calls.map((c) => c.method)).toEqual(['SendStreamingMessage'])
  })

  for (const streaming of [false, true]) {
    // Polling: the remote task is found again in the conversation by a new bridge (a restart);
    // streaming: one bridge remembers it in memory.
    it(`continues a remote input-required task with the next message of the conversation (${streaming ? 'streaming, in memory' : 'polling, after a restart'})`, async () => {
      const agent = await externalAgent({ asks: true, streaming })
      const coord = await openCoordinator()
      await coord.register({ agentId: 'shouter' })
      await coord.send({
        fromAgent: 'architect',
        toAgent: 'shouter',
        subject: 'Loud',
        body: 'hello',
      })
      const newBridge = () =>
        new A2ABridge({
          cardUrl: agent.cardUrl,
          pollIntervalMs: 10,
          ...(streaming
            ? {}
            : {
                sessions: new ConversationA2ASessions({
                  conversation: (id) => coord.conversation(id),
                  agent: 'shouter',
                }),
              }),
        })
      const bridge = newBridge()
      let runner = new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge })
      await runner.run({ once: true })
      const [question] = await coord.poll('architect')
      expect(question?.message.body).toBe('how loud?')
      expect(question?.message.payload).toMatchObject({ data: { a2a: { state: 'input-required' } } })
      await coord.ack(question!.message.id, 'architect', { receipt: question!.lease.receipt })
      // The answer, in the same conversation, goes to the same remote task.
      await coord.send({
        fromAgent: 'architect',
        toAgent: 'shouter',
        subject: 'Re: Loud',
        body: 'very',
        routing: { replyTo: question!.message.id, conversationId: question!.message.routing.conversationId },
      })
      if (!streaming) runner = new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge: newBridge() })
      await runner.run({ once: true })
      const [answer] = await coord.poll('architect')
      expect(answer?.message.body).toMatch(/HELLO \(very\)$/)
      const sends = agent.calls.filter((c) => c.method !== 'GetTask')
      expect(sends).toHaveLength(2)
      expect(sends[0]?.taskId).toBeUndefined()
      expect(sends[1]?.taskId).toEqual(expect.any(String))
      // A new message after the task completed starts a new remote task (in the same remote context).
      await coord.send({
        fromAgent: 'architect',
        toAgent: 'shouter',
        subject: 'Again',
        body: 'again',
        routing: { conversationId: question!.message.routing.conversationId },
      })
      await runner.run({ once: true })
      expect(agent.calls.filter((c) => c.method !== 'GetTask').at(-1)?.taskId).toBeUndefined()
    })
  }

  it('reads a token per remote agent from the environment, the shared one otherwise', () => {
    const env = {
      AGENT_COMM_A2A_TOKEN: 'shared',
      AGENT_COMM_A2A_TOKEN_PARTNER_B: 'for-partner-b',
      [a2aTokenEnvName('Partner.B')]: 'for-Partner.B',
    }
    expect(a2aTokenEnvName('partner-b')).toBe('AGENT_COMM_A2A_TOKEN_PARTNER_B')
    expect(a2aTokenEnvName('Partner.B')).toMatch(/^AGENT_COMM_A2A_TOKEN__[0-9A-F]+$/)
    expect(a2aTokenFromEnv(env, 'partner-b')).toBe('for-partner-b')
    expect(a2aTokenFromEnv(env, 'Partner.B')).toBe('for-Partner.B')
    expect(a2aTokenFromEnv(env, 'other')).toBe('shared')
    expect(a2aTokenFromEnv({ AGENT_COMM_A2A_TOKEN_OTHER: ' ' }, 'other')).toBeUndefined()
  })

  it("dead-letters a message whose A2A task failed, with the agent's reason", async () => {
    const agent = await externalAgent({ fail: true })
    const { coord, summary } = await bridgeHelloOnce(agent.cardUrl)
    expect(summary).toMatchObject({ processed: 1, succeeded: 0 })
    const [failed] = await coord.listFailed({ agent: 'shouter' })
    expect(JSON.stringify(failed)).toContain('cannot shout today')
  })

  it('never follows a redirect of the agent (its card or its endpoint): dead-lettered at once, naming status and host', async () => {
    // What a redirect could reach: an internal service (the cloud metadata service, 169.254.169.254).
    const internalHits: string[] = []
    const internal = await listen((request, response) => {
      internalHits.push(`${request.method} ${request.url}`)
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"secret":"metadata"}')
    })
    const agent = await externalAgent()
    const card = (await (await fetch(agent.cardUrl)).json()) as { supportedInterfaces: { url: string }[] }
    const redirector = await listen((request, response) => {
      if (request.url === '/card.json') {
        const self = `http://127.0.0.1:${(request.socket.address() as AddressInfo).port}`
        card.supportedInterfaces[0]!.url = `${self}/rpc`
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(card))
        return
      }
      // 307 keeps the method and the body: followed, the message (and the token) would be POSTed inside.
      response
        .writeHead(request.url === '/moved-card.json' ? 302 : 307, {
          location: `${internal}/latest/meta-data?x=1`,
        })
        .end()
    })
    for (const path of ['/card.json', '/moved-card.json']) {
      const coord = await openCoordinator()
      await coord.register({ agentId: 'shouter' })
      const sent = await coord.send({ fromAgent: 'architect', toAgent: 'shouter', body: 'hello' })
      const bridge = new A2ABridge({ cardUrl: `${redirector}${path}`, token: 'tok', pollIntervalMs: 10 })
      const summary = await new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge }).run({
        once: true,
      })
      expect(summary).toMatchObject({ processed: 1, succeeded: 0, failed: 1 })
      const delivery = (await coord.status(sent.messageId)).deliveries[0]!
      // Dead-lettered without a retry: the agent would redirect again.
      expect(delivery.status).toBe('failed')
      const status = path === '/card.json' ? 307 : 302
      expect(delivery.lastError).toContain(
        `answered ${status} (a redirect to Location host ${new URL(internal).host}); A2A agent redirects are not followed`,
      )
      expect(delivery.lastError).not.toContain('meta-data')
    }
    expect(internalHits).toEqual([])
  })

  it('sends nothing to a JSON-RPC endpoint the card names on another origin, unless that origin is allowed', async () => {
    const internalHits: string[] = []
    const internal = await listen((request, response) => {
      internalHits.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`)
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
    const agent = await externalAgent()
    const card = (await (await fetch(agent.cardUrl)).json()) as { supportedInterfaces: { url: string }[] }
    // The real agent's card, served from another origin: pointing at an internal service, then at the agent.
    let endpoint = `${internal}/latest/meta-data`
    const cardHost = await listen((_request, response) => {
      card.supportedInterfaces[0]!.url = endpoint
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(card))
    })
    const run = async (options: { endpointOrigins?: string[] } = {}) => {
      const coord = await openCoordinator()
      await coord.register({ agentId: 'shouter' })
      const sent = await coord.send({ fromAgent: 'architect', toAgent: 'shouter', body: 'hello' })
      const bridge = new A2ABridge({
        cardUrl: `${cardHost}/card.json`,
        token: 'tok',
        pollIntervalMs: 10,
        ...options,
      })
      const summary = await new BridgeRunner({ coordinator: coord, agent: 'shouter', bridge }).run({
        once: true,
      })
      return { summary, delivery: (await coord.status(sent.messageId)).deliveries[0]! }
    }
    const refused = await run()
    expect(refused.summary).toMatchObject({ processed: 1, succeeded: 0, failed: 1 })
    expect(refused.delivery.status).toBe('failed')
    expect(refused.delivery.lastError).toContain(
      `names its JSON-RPC endpoint on another origin (host ${new URL(internal).host})`,
    )
    expect(refused.delivery.lastError).not.toContain('meta-data')
    expect(internalHits).toEqual([])
    // The operator allows the agent's own origin: the message goes through.
    endpoint = `${agent.base}/rpc`
    const allowed = await run({ endpointOrigins: [agent.base] })
    expect(allowed.summary).toMatchObject({ processed: 1, succeeded: 1 })
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
    onCleanup(() => new Promise<void>((resolve) => bad.close(() => resolve())))
    await expect(
      fetchAgentCard(`http://127.0.0.1:${(bad.address() as AddressInfo).port}/card.json`),
    ).rejects.toThrow(/invalid: supportedInterfaces/)
  })
})

describe('A2ABridge.checkAvailability', () => {
  it('says the agent is available when its card answers and its endpoint is on an allowed origin', async () => {
    const agent = await externalAgent()
    const bridge = new A2ABridge({ cardUrl: agent.cardUrl })
    expect(await bridge.checkAvailability()).toEqual({ available: true })
    expect(await bridge.isAvailable()).toBe(true)
  })

  it('says why the card is unreachable and what to do', async () => {
    const bridge = new A2ABridge({ cardUrl: 'http://127.0.0.1:9/.well-known/agent-card.json?key=s3cret' })
    const check = await bridge.checkAvailability()
    expect(check.available).toBe(false)
    expect(check.reason).toMatch(
      /^The A2A agent card at http:\/\/127\.0\.0\.1:9\/\.well-known\/agent-card\.json is unreachable/,
    )
    expect(check.reason).not.toContain('s3cret')
    expect(check.hint).toContain('--a2a-url')
    expect(await bridge.isAvailable()).toBe(false)
  })

  it('says to set the token when the card answers 401', async () => {
    const base = await listen((_request, response) => response.writeHead(401).end())
    const check = await new A2ABridge({ cardUrl: `${base}/card.json` }).checkAvailability()
    expect(check).toMatchObject({ available: false, reason: expect.stringContaining('answered HTTP 401') })
    expect(check.hint).toContain('AGENT_COMM_A2A_TOKEN')
  })

  it('refuses a card whose JSON-RPC endpoint is on another origin, saying how to allow it', async () => {
    const agent = await externalAgent()
    const card = (await (await fetch(agent.cardUrl)).json()) as { supportedInterfaces: { url: string }[] }
    card.supportedInterfaces[0]!.url = 'http://169.254.169.254/latest/meta-data'
    const cardHost = await listen((_request, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(card)),
    )
    const check = await new A2ABridge({ cardUrl: `${cardHost}/card.json` }).checkAvailability()
    expect(check.available).toBe(false)
    expect(check.reason).toContain('names its JSON-RPC endpoint on another origin (host 169.254.169.254)')
    expect(check.reason).not.toContain('meta-data')
    expect(check.hint).toContain('AGENT_COMM_A2A_ENDPOINT_ORIGINS')
  })

  it('gives up on a card that does not answer within healthTimeoutMs', async () => {
    const base = await listen(() => {}) // never answers
    const bridge = new A2ABridge({ cardUrl: `${base}/card.json`, healthTimeoutMs: 50 })
    expect(await bridge.checkAvailability()).toMatchObject({
      available: false,
      reason: expect.stringContaining('the agent card did not answer within 0.05 s'),
    })
  })
})
