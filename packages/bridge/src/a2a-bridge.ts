import type { JsonValue, MessageV2 } from '@agent-comm/protocol'
import { ConfigError } from '@agent-comm/protocol'
import { fetchAgentCard, type RemoteAgentCard } from './a2a-card.js'
import type { Bridge, BridgeContext, BridgeResult } from './bridge.js'
import { describeError } from './bridge.js'

/** Options of {@link A2ABridge}. */
export interface A2ABridgeOptions {
  /** The remote agent's card, e.g. `https://host/.well-known/agent-card.json` (the profile's `metadata.a2a.url`). */
  cardUrl: string
  /** A bearer token for the remote agent (the composition root reads it from the environment). */
  token?: string
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch
  /** How often a task still running is polled, in ms (1000). */
  pollIntervalMs?: number
}

/** The SDK's client module, loaded on first use so installing the bridge does not bring it. */
type SdkClient = typeof import('@a2a-js/sdk/client')
type Sdk = typeof import('@a2a-js/sdk')

const FINAL_STATES = new Set([
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_REJECTED',
])
const WAITING_STATES = new Set(['TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED'])

/**
 * Forwards an agent's messages to an external A2A 1.0 agent with the A2A SDK's client (`@a2a-js/sdk`, an
 * optional peer dependency): the message becomes a `SendMessage` (its A2A parts if it carries some, else
 * its body as text, in a context named after its conversation), the task is followed until it ends, and
 * its artifacts (or the agent's message) come back as the reply, so `request` works against the agent.
 * A failed or rejected task is dead-lettered with the agent's reason; an unreachable agent is retried.
 */
export class A2ABridge implements Bridge {
  readonly name: string
  readonly #options: A2ABridgeOptions
  readonly #fetch: typeof fetch
  #card: RemoteAgentCard | undefined

  constructor(options: A2ABridgeOptions) {
    const url = new URL(options.cardUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`A2ABridge needs an http(s) agent card URL, not ${options.cardUrl}`)
    }
    this.#options = options
    const base = options.fetch ?? fetch
    this.#fetch =
      options.token === undefined
        ? base
        : (input, init) => {
            const headers = new Headers(init?.headers)
            headers.set('authorization', `Bearer ${options.token}`)
            return base(input, { ...init, headers })
          }
    this.name = `a2a ${url.origin}${url.pathname}`
  }

  async forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    let sdk: { client: SdkClient; types: Sdk }
    try {
      sdk = await loadSdk()
    } catch (error) {
      return { success: false, retryable: false, error: describeError(error) }
    }
    let client: Awaited<ReturnType<InstanceType<SdkClient['ClientFactory']>['createFromAgentCard']>>
    try {
      this.#card ??= await fetchAgentCard(this.#options.cardUrl, {
        fetch: this.#fetch,
        signal: context.signal,
      })
      const factory = new sdk.client.ClientFactory({
        transports: [new sdk.client.JsonRpcTransportFactory({ fetchImpl: this.#fetch })],
      })
      client = await factory.createFromAgentCard(sdk.types.AgentCard.fromJSON(this.#card))
    } catch (error) {
      // A card that does not validate will not get better on retry; an unreachable agent may.
      const unreachable = /unreachable|HTTP 5\d\d/.test(describeError(error))
      return { success: false, retryable: unreachable, error: describeError(error) }
    }
    const request = sdk.types.SendMessageRequest.fromJSON({
      message: {
        messageId: message.id,
        contextId: message.routing.conversationId,
        role: 'ROLE_USER',
        parts: partsOf(message),
        metadata: { agentCommMessageId: message.id, fromAgent: message.fromAgent, subject: message.subject },
      },
    })
    try {
      const result = await client.sendMessage(request, { signal: context.signal })
      let json = (
        'id' in result ? sdk.types.Task.toJSON(result) : sdk.types.Message.toJSON(result)
      ) as Record<string, unknown>
      if ('id' in result) {
        let task = result
        while (!isDone(sdk.types.taskStateToJSON(task.status?.state ?? 0))) {
          await delay(this.#options.pollIntervalMs ?? 1000, context.signal)
          if (context.signal.aborted) return { success: false, error: 'aborted while the A2A task ran' }
          task = await client.getTask({ tenant: '', id: task.id }, { signal: context.signal })
        }
        json = sdk.types.Task.toJSON(task) as Record<string, unknown>
      }
      return outcome(json)
    } catch (error) {
      return {
        success: false,
        error: `A2A agent ${this.#card?.name ?? this.#options.cardUrl}: ${describeError(error)}`,
      }
    }
  }

  async isAvailable(signal?: AbortSignal): Promise<boolean> {
    try {
      this.#card = await fetchAgentCard(this.#options.cardUrl, {
        fetch: this.#fetch,
        ...(signal === undefined ? {} : { signal }),
      })
      return true
    } catch {
      return false
    }
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
  const a2aState = state === 'TASK_STATE_INPUT_REQUIRED' ? 'input-required' : 'completed'
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
        },
      },
    },
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}
