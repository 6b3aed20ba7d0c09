// `@agent-comm/test-support/a2a-agent`: an external A2A agent made with the SDK's own server, for the tests
// of what calls one (the bridge, the CLI's `bridge --a2a`). Each test gives the executor that answers.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AgentCard, AgentCard as AgentCardCodec, type Message, Role } from '@a2a-js/sdk'
import {
  type AgentExecutor,
  DefaultRequestHandler,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  ServerCallContext,
} from '@a2a-js/sdk/server'

/** What {@link startA2AAgent} serves. */
export interface A2AAgentOptions {
  name: string
  description: string
  /** Answers each message. */
  executor: AgentExecutor
  /** The card says it streams (SendStreamingMessage answered with server-sent events). */
  streaming?: boolean
  /** The bearer token every call must carry (401 otherwise); undefined: any call is let in. */
  token?: string
  /** Registers the server's close, run after the test. */
  onCleanup(fn: () => Promise<void>): void
}

/** A running external agent and what it was asked. */
export interface A2AAgent {
  /** `http://127.0.0.1:<port>`; JSON-RPC is served at `/rpc`. */
  base: string
  /** Where its Agent Card is served. */
  cardUrl: string
  /** The Authorization header of each JSON-RPC call, in order. */
  seenAuth: (string | undefined)[]
  /** Each JSON-RPC call let in: its method and the task id its message names (a continued task). */
  calls: { method: string; taskId: string | undefined }[]
}

/** Starts the agent on a loopback port: its card at `/.well-known/agent-card.json`, JSON-RPC at `/rpc`. */
export async function startA2AAgent(options: A2AAgentOptions): Promise<A2AAgent> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  options.onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const card: AgentCard = {
    name: options.name,
    description: options.description,
    supportedInterfaces: [
      { url: `${base}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
    ],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: options.streaming === true, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  }
  const agent: A2AAgent = { base, cardUrl: `${base}/.well-known/agent-card.json`, seenAuth: [], calls: [] }
  const transport = new JsonRpcTransportHandler(
    new DefaultRequestHandler(card, new InMemoryTaskStore(), options.executor),
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
      agent.seenAuth.push(request.headers.authorization)
      if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
        response.writeHead(401).end()
        return
      }
      const rpc = JSON.parse(body) as { method: string; params?: { message?: { taskId?: string } } }
      agent.calls.push({ method: rpc.method, taskId: rpc.params?.message?.taskId || undefined })
      const result = await transport.handle(
        body,
        new ServerCallContext({ requestedVersion: String(request.headers['a2a-version'] ?? '0.3') }),
      )
      if (Symbol.asyncIterator in result) {
        // SendStreamingMessage: the events as server-sent events.
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        for await (const event of result) response.write(`data: ${JSON.stringify(event)}\n\n`)
        response.end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result))
    })
  })
  return agent
}

/** A text part of an A2A message or artifact. */
export function textPart(value: string) {
  return { content: { $case: 'text' as const, value }, metadata: undefined, filename: '', mediaType: '' }
}

/** The agent's message of one text part in the task (or, with `taskId` '', outside any task). */
export function agentMessage(where: { contextId: string; taskId: string }, value: string): Message {
  return {
    messageId: randomUUID(),
    contextId: where.contextId,
    taskId: where.taskId,
    role: Role.ROLE_AGENT,
    parts: [textPart(value)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  }
}

/**
 * A caller's (user's) message of one text part, outside any task and context unless `extra` says which
 * (`taskId` to continue a task), with a fresh id unless `extra.messageId` gives one: what a test sends to an
 * A2A endpoint.
 */
export function userMessage(value: string, extra: Partial<Message> = {}): Message {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [textPart(value)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
    ...extra,
  }
}
