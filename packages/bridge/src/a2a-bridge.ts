import type { JsonValue, MessageV2 } from '@agent-comm/protocol'
import { AgentCommError, ConfigError, delay } from '@agent-comm/protocol'
import { fetchAgentCard, type RemoteAgentCard } from './a2a-card.js'
import { type A2ASessions, InMemoryA2ASessions } from './a2a-sessions.js'
import type { Availability, Bridge, BridgeContext, BridgeResult } from './bridge.js'
import { describeError, healthTimeoutOf, withinSeconds } from './bridge.js'
import { failureReason, withCleanReason } from './failure-reason.js'
import { isRedirectRefused, refusingRedirects } from './redirects.js'

/** Options of {@link A2ABridge}. */
export interface A2ABridgeOptions {
  /** The remote agent's card, e.g. `https://host/.well-known/agent-card.json` (the profile's `metadata.a2a.url`). */
  cardUrl: string
  /** A bearer token for the remote agent (the composition root reads it from the environment). */
  token?: string
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch
  /** How often a task still running is polled, in ms (1000), when the agent does not stream. */
  pollIntervalMs?: number
  /**
   * Stream the task (`SendStreamingMessage`) when the agent's card says it streams (default true);
   * false: always send and poll.
   */
  streaming?: boolean
  /**
   * Per conversation, the remote context and the task waiting for input, so that a later message of the
   * conversation continues it (default: in this process's memory).
   */
  sessions?: A2ASessions
  /**
   * Origins (`https://api.example.com`) besides the card's that the card may name as its JSON-RPC endpoint.
   * By default only the card URL's own origin: the endpoint receives every message and the token, and the
   * card is the remote agent's word, so a card naming another origin (an internal address, the cloud
   * metadata service) is refused unless the operator allows that origin here.
   */
  endpointOrigins?: readonly string[]
  /** How long the health check's fetch of the agent card may take before it counts as failed, in ms (10 000). */
  healthTimeoutMs?: number
}

/** The SDK's client module, loaded on first use so installing the bridge does not bring it. */
type SdkClient = typeof import('@a2a-js/sdk/client')
type Sdk = typeof import('@a2a-js/sdk')
type Client = Awaited<ReturnType<InstanceType<SdkClient['ClientFactory']>['createFromAgentCard']>>
type SendRequest = ReturnType<Sdk['SendMessageRequest']['fromJSON']>

/** One forward's exchange with the agent: the SDK's types, the client made from its card, the abort signal. */
interface A2ACall {
  types: Sdk
  client: Client
  signal: AbortSignal
}

/** A task as A2A JSON, as far as the bridge reads it. */
interface TaskJson {
  id: string
  contextId?: string
  status?: { state?: string; message?: { parts?: JsonPart[] } }
  artifacts?: { artifactId?: string; parts?: JsonPart[] }[]
  [key: string]: unknown
}

const FINAL_STATES = new Set([
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_REJECTED',
])
const WAITING_STATES = new Set(['TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED'])

/**
 * Forwards an agent's messages to an external A2A 1.0 agent with the A2A SDK's client (`@a2a-js/sdk`, an
 * optional peer dependency): the message becomes a `SendStreamingMessage` when the agent's card says it
 * streams, else a `SendMessage` whose task is polled (its A2A parts if it carries some, else its body as
 * text, in the conversation's remote context); its artifacts (or the agent's message) come back as the
 * reply, so `request` works against the agent. A task that asks for input (input-required) is answered
 * with its question, and the next message of the same conversation continues that task. A failed or
 * rejected task is dead-lettered with the agent's reason; an unreachable agent is retried.
 */
export class A2ABridge implements Bridge {
  readonly name: string
  readonly #options: A2ABridgeOptions
  readonly #fetch: typeof fetch
  readonly #sessions: A2ASessions
  /** Where the card may send the bridge: the card's origin and {@link A2ABridgeOptions.endpointOrigins}. */
  readonly #origins: ReadonlySet<string>
  readonly #healthTimeoutMs: number
  #card: RemoteAgentCard | undefined

  constructor(options: A2ABridgeOptions) {
    const url = new URL(options.cardUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`A2ABridge needs an http(s) agent card URL, not ${options.cardUrl}`)
    }
    this.#options = options
    this.name = `a2a ${url.origin}${url.pathname}`
    this.#origins = new Set([url.origin, ...(options.endpointOrigins ?? []).map(originOf)])
    const base = options.fetch ?? fetch
    const authorized: typeof fetch =
      options.token === undefined
        ? base
        : (input, init) => {
            const headers = new Headers(init?.headers)
            headers.set('authorization', `Bearer ${options.token}`)
            return base(input, { ...init, headers })
          }
    // Every request of the card and of the SDK's client: a redirect is refused, never followed.
    this.#fetch = refusingRedirects(authorized, this.name, 'A2A agent')
    this.#sessions = options.sessions ?? new InMemoryA2ASessions()
    this.#healthTimeoutMs = healthTimeoutOf('A2ABridge', options.healthTimeoutMs)
  }

  /**
   * Why the card's JSON-RPC endpoint is refused — it is on an origin the bridge may not send to — or
   * undefined when it is allowed. Retried, the card would say the same.
   */
  #foreignEndpoint(card: RemoteAgentCard): string | undefined {
    const elsewhere = card.supportedInterfaces.find(
      (i) => i.protocolBinding === 'JSONRPC' && !this.#origins.has(new URL(i.url).origin),
    )
    if (elsewhere === undefined) return undefined
    // The host only: the endpoint's path may be anything the card's author chose (an internal service's).
    return `The A2A agent card at ${this.name.slice('a2a '.length)} names its JSON-RPC endpoint on another origin (host ${new URL(elsewhere.url).host}): messages and the token go only to the card's origin; allow that origin (A2ABridge endpointOrigins) if it is the agent's`
  }

  async #forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    let sdk: { client: SdkClient; types: Sdk }
    try {
      sdk = await loadSdk()
    } catch (error) {
      return { success: false, retryable: false, error: describeError(error) }
    }
    let client: Client
    let card: RemoteAgentCard
    try {
      card = this.#card ??= await fetchAgentCard(this.#options.cardUrl, {
        fetch: this.#fetch,
        signal: context.signal,
      })
      const foreign = this.#foreignEndpoint(card)
      // Retried, the card would say the same: dead-lettered at once.
      if (foreign !== undefined) return { success: false, retryable: false, error: foreign }
      const factory = new sdk.client.ClientFactory({
        transports: [new sdk.client.JsonRpcTransportFactory({ fetchImpl: this.#fetch })],
      })
      client = await factory.createFromAgentCard(sdk.types.AgentCard.fromJSON(card))
    } catch (error) {
      // A card that does not validate will not get better on retry; an unreachable agent may.
      const unreachable = /unreachable|HTTP 5\d\d/.test(describeError(error)) && !isRedirectRefused(error)
      return { success: false, retryable: unreachable, error: describeError(error) }
    }
    const conversation = message.routing.conversationId
    const remote = await this.#sessions.get(conversation)
    const request = sdk.types.SendMessageRequest.fromJSON({
      message: {
        messageId: message.id,
        contextId: remote?.contextId ?? conversation,
        taskId: remote?.taskId,
        role: 'ROLE_USER',
        parts: partsOf(message),
        metadata: { agentCommMessageId: message.id, fromAgent: message.fromAgent, subject: message.subject },
      },
    })
    try {
      const streams = this.#options.streaming !== false && card.capabilities?.streaming === true
      const call: A2ACall = { types: sdk.types, client, signal: context.signal }
      const json = streams ? await this.#stream(call, request) : await this.#send(call, request)
      if (json === undefined) return { success: false, error: 'aborted while the A2A task ran' }
      if ('messageId' in json) return outcome(json)
      const task = json as TaskJson
      // The conversation keeps its remote context; a task waiting for input is continued by the next message.
      await this.#sessions.set(conversation, {
        contextId: task.contextId ?? remote?.contextId ?? conversation,
        ...(WAITING_STATES.has(task.status?.state ?? '') ? { taskId: task.id } : {}),
      })
      return outcome(task)
    } catch (error) {
      return {
        success: false,
        error: `A2A agent ${this.#card?.name ?? this.#options.cardUrl}: ${describeError(error)}`,
        // A redirect is answered again on a retry: dead-lettered at once.
        ...(isRedirectRefused(error) ? { retryable: false } : {}),
      }
    }
  }

  /** `SendMessage`, then `GetTask` every `pollIntervalMs` until the task ends or waits for input. */
  async #send(call: A2ACall, request: SendRequest): Promise<Record<string, unknown> | undefined> {
    const { types, client, signal } = call
    const result = await client.sendMessage(request, { signal })
    if (!('id' in result)) return types.Message.toJSON(result) as Record<string, unknown>
    return this.#poll(call, types.Task.toJSON(result) as TaskJson)
  }

  async #poll(call: A2ACall, task: TaskJson): Promise<TaskJson | undefined> {
    const { types, client, signal } = call
    let current = task
    while (!isDone(current.status?.state ?? '')) {
      await delay(this.#options.pollIntervalMs ?? 1000, signal)
      if (signal.aborted) return undefined
      current = types.Task.toJSON(
        await client.getTask({ tenant: '', id: current.id }, { signal }),
      ) as TaskJson
    }
    return current
  }

  /**
   * `SendStreamingMessage`: the task is built from its events (the task, status updates, artifact chunks)
   * until it ends or waits for input. A stream that ends before that is followed by polling.
   */
  async #stream(call: A2ACall, request: SendRequest): Promise<Record<string, unknown> | undefined> {
    const { types, client, signal } = call
    let task: TaskJson | undefined
    for await (const event of client.sendMessageStream(request, { signal })) {
      const json = types.StreamResponse.toJSON(event) as {
        task?: TaskJson
        message?: Record<string, unknown>
        statusUpdate?: { taskId: string; contextId?: string; status?: TaskJson['status'] }
        artifactUpdate?: {
          taskId: string
          contextId?: string
          artifact?: { artifactId?: string; parts?: JsonPart[] }
          append?: boolean
        }
      }
      if (json.message !== undefined) return json.message
      if (json.task !== undefined) task = { ...json.task }
      const update = json.statusUpdate ?? json.artifactUpdate
      if (update !== undefined) {
        task ??= { id: update.taskId, contextId: update.contextId }
      }
      if (json.statusUpdate?.status !== undefined && task !== undefined)
        task.status = json.statusUpdate.status
      if (json.artifactUpdate?.artifact !== undefined && task !== undefined) {
        task.artifacts = mergeArtifact(
          task.artifacts ?? [],
          json.artifactUpdate.artifact,
          json.artifactUpdate.append,
        )
      }
      if (task !== undefined && isDone(task.status?.state ?? '')) return task
    }
    if (signal.aborted) return undefined
    if (task === undefined) throw new Error('the stream ended without a task or a message')
    // The stream ended early (a proxy cut it): the task's state is read until it ends.
    return this.#poll(call, task)
  }

  /** Forwards the message; a failure's reason is cleaned as every bridge's is ({@link withCleanReason}). */
  async forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    return withCleanReason(await this.#forward(message, context))
  }

  async isAvailable(signal?: AbortSignal): Promise<boolean> {
    return (await this.checkAvailability(signal)).available
  }

  /**
   * Checks what `forward` needs before it sends anything: the A2A SDK is installed, the agent card answers
   * (within `healthTimeoutMs`) and is a card the bridge can use, and its JSON-RPC endpoint is on an allowed
   * origin. When not, says why and what to do.
   */
  async checkAvailability(signal?: AbortSignal): Promise<Availability> {
    try {
      await loadSdk()
    } catch (error) {
      return unavailable(error)
    }
    const timeout = AbortSignal.timeout(this.#healthTimeoutMs)
    let card: RemoteAgentCard
    try {
      card = await fetchAgentCard(this.#options.cardUrl, {
        fetch: this.#fetch,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      })
    } catch (error) {
      if (!timeout.aborted) return unavailable(error)
      return {
        available: false,
        reason: `${this.name}: the agent card did not answer within ${withinSeconds(this.#healthTimeoutMs)}`,
        hint: 'Check that the A2A agent is up and answers at that URL, or allow the check more time.',
      }
    }
    const foreign = this.#foreignEndpoint(card)
    if (foreign !== undefined) {
      return {
        available: false,
        reason: failureReason(foreign),
        hint: "If that host is the agent's own endpoint, allow its origin: A2ABridge endpointOrigins (agent-comm bridge reads AGENT_COMM_A2A_ENDPOINT_ORIGINS, comma-separated origins).",
      }
    }
    this.#card = card
    return { available: true }
  }
}

/** A failed check as the error says it: its message (URLs redacted) and, for an agent-comm error, its hint. */
function unavailable(error: unknown): Availability {
  const hint = error instanceof AgentCommError ? error.hint : undefined
  return {
    available: false,
    reason: failureReason(describeError(error)),
    ...(hint === undefined ? {} : { hint }),
  }
}

async function loadSdk(): Promise<{ client: SdkClient; types: Sdk }> {
  try {
    return { client: await import('@a2a-js/sdk/client'), types: await import('@a2a-js/sdk') }
  } catch {
    throw new ConfigError('The A2A bridge needs the A2A SDK: npm install @a2a-js/sdk', {
      hint: '@a2a-js/sdk is an optional peer dependency of @agent-comm/bridge.',
    })
  }
}

/** An artifact chunk added to the task's artifacts: appended to the one with its id, or replacing it. */
function mergeArtifact(
  artifacts: NonNullable<TaskJson['artifacts']>,
  chunk: { artifactId?: string; parts?: JsonPart[] },
  append: boolean | undefined,
): NonNullable<TaskJson['artifacts']> {
  const at = artifacts.findIndex((a) => a.artifactId === chunk.artifactId)
  if (at === -1) return [...artifacts, chunk]
  const merged =
    append === true
      ? { ...artifacts[at], parts: [...(artifacts[at]!.parts ?? []), ...(chunk.parts ?? [])] }
      : chunk
  return artifacts.map((a, i) => (i === at ? merged : a))
}

function isDone(state: string): boolean {
  return FINAL_STATES.has(state) || WAITING_STATES.has(state)
}

/** The message as A2A parts: those it carries (`payload.data.a2a.parts`), else its body as text. */
function partsOf(message: MessageV2): unknown[] {
  const data = message.payload?.data
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const a2a = (data as { a2a?: { parts?: unknown } }).a2a
    if (Array.isArray(a2a?.parts) && a2a.parts.length > 0) return a2a.parts
  }
  return [{ text: message.body }]
}

interface JsonPart {
  text?: string
  data?: unknown
  url?: string
}

/** The reply to send back: the task's artifacts (or the agent's message) as text and as A2A parts. */
function outcome(json: Record<string, unknown>): BridgeResult {
  const status = json.status as { state?: string; message?: { parts?: JsonPart[] } } | undefined
  const state = status?.state
  const artifacts = (json.artifacts as { parts?: JsonPart[] }[] | undefined) ?? []
  const parts: JsonPart[] =
    'messageId' in json
      ? ((json.parts as JsonPart[] | undefined) ?? [])
      : artifacts.length > 0
        ? artifacts.flatMap((a) => a.parts ?? [])
        : (status?.message?.parts ?? [])
  const text = parts
    .map((p) => p.text ?? (p.data === undefined ? (p.url ?? '') : JSON.stringify(p.data)))
    .filter((t) => t !== '')
    .join('\n\n')
  if (state === 'TASK_STATE_FAILED' || state === 'TASK_STATE_REJECTED' || state === 'TASK_STATE_CANCELED') {
    return {
      success: false,
      retryable: false,
      error: `the A2A task ended ${state.slice(11).toLowerCase()}${text === '' ? '' : `: ${text}`}`,
    }
  }
  // Both waiting states ask the sender something: its next message in the conversation answers.
  const a2aState = WAITING_STATES.has(state ?? '') ? 'input-required' : 'completed'
  return {
    success: true,
    replyText: text === '' ? `(the A2A agent answered ${state ?? 'a message'} without text)` : text,
    replyPayload: {
      type: 'task_result',
      data: {
        a2a: {
          state: a2aState,
          parts: parts as JsonValue[],
          ...('id' in json ? { taskId: String(json.id) } : {}),
          ...(typeof json.contextId === 'string' && json.contextId !== ''
            ? { contextId: json.contextId }
            : {}),
        },
      },
    },
  }
}

/** The origin of `value` (an origin or a URL); `ConfigError` when it is not an http(s) URL. */
function originOf(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`A2ABridge endpointOrigins: '${value}' is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`A2ABridge endpointOrigins: '${value}' is not an http(s) origin`)
  return url.origin
}
