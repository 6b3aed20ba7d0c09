import type {
  AgentCard,
  CancelTaskRequest,
  DeleteTaskPushNotificationConfigRequest,
  GetExtendedAgentCardRequest,
  GetTaskPushNotificationConfigRequest,
  GetTaskRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse,
  ListTasksRequest,
  ListTasksResponse,
  Message,
  SendMessageRequest,
  StreamResponse,
  SubscribeToTaskRequest,
  Task,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk'
import { A2AError, ExtendedAgentCardNotConfiguredError, TaskNotFoundError } from '@a2a-js/sdk/errors'
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server'
import { type Logger, silentLogger } from '@agent-comm/protocol'
import { TaskCodecs } from './codecs.js'
import type { A2ACaller, A2ATasks, SentTask, SequencedEvent } from './tasks.js'

/** What the fastify adapter puts in a call's `ServerCallContext.state`. */
export interface CallState {
  caller: A2ACaller
  agent: string
  card: AgentCard
  /** The HTTP request's id: named in an internal error's answer and logged with its cause. */
  requestId: string
  /** Sequence numbers of the stream events yielded so far, in order (the adapter's SSE ids). */
  seqs: number[]
  /** The SSE `Last-Event-ID` of a reconnecting stream. */
  lastEventId: number | undefined
  signal: AbortSignal
}

const STATE_KEY = 'agent-comm'

/** Puts `state` in a call context. */
export function withCallState(context: ServerCallContext, state: CallState): ServerCallContext {
  context.state.set(STATE_KEY, state)
  return context
}

function callState(context: ServerCallContext): CallState {
  return context.state.get(STATE_KEY) as CallState
}

/**
 * The SDK's request-handler interface over {@link A2ATasks}: the SDK's `JsonRpcTransportHandler`
 * parses and dispatches JSON-RPC, this answers each method from the spool and the store.
 */
export class SpoolRequestHandler implements A2ARequestHandler {
  readonly #tasks: A2ATasks
  readonly #logger: Logger

  /** `logger` receives every internal error (its cause never reaches the caller). */
  constructor(tasks: A2ATasks, options: { logger?: Logger } = {}) {
    this.#tasks = tasks
    this.#logger = options.logger ?? silentLogger
  }

  async getAgentCard(): Promise<AgentCard> {
    throw new ExtendedAgentCardNotConfiguredError('Each agent has its own card under /a2a/{agent}')
  }

  async getAuthenticatedExtendedAgentCard(
    _params: GetExtendedAgentCardRequest,
    context: ServerCallContext,
  ): Promise<AgentCard> {
    return callState(context).card
  }

  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    return this.#guarded(context, async () => {
      const { caller, agent, signal } = callState(context)
      const { record, turn } = await this.#tasks.send(caller, agent, params)
      if (params.configuration?.returnImmediately === true) return TaskCodecs.task(record.task)
      // By default SendMessage answers once the task ends or waits for input (A2A 1.0, returnImmediately).
      for await (const _ of this.#tasks.events(caller, agent, record.id, { ...streamFrom(turn), signal })) {
        // Only waiting for the stream to end.
      }
      return this.#tasks.get(caller, agent, record.id, params.configuration?.historyLength)
    })
  }

  async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const state = callState(context)
    const events = async function* (tasks: A2ATasks): AsyncGenerator<SequencedEvent> {
      const { record, turn } = await tasks.send(state.caller, state.agent, params)
      const options = { ...streamFrom(turn), signal: state.signal }
      yield* tasks.events(state.caller, state.agent, record.id, options)
    }
    yield* this.#sequenced(state, events(this.#tasks))
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    const { caller, agent } = callState(context)
    return this.#guarded(context, () => this.#tasks.get(caller, agent, params.id, params.historyLength))
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const { caller, agent } = callState(context)
    return this.#guarded(context, () => this.#tasks.cancel(caller, agent, params.id))
  }

  async *resubscribe(
    params: SubscribeToTaskRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const state = callState(context)
    const options =
      state.lastEventId === undefined
        ? { snapshot: true, signal: state.signal }
        : { afterSeq: state.lastEventId, signal: state.signal }
    yield* this.#sequenced(state, this.#tasks.events(state.caller, state.agent, params.id, options))
  }

  async listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const { caller, agent } = callState(context)
    const pageSize = Math.min(Math.max(params.pageSize ?? 50, 1), 100)
    return this.#guarded(context, async () => {
      const page = await this.#tasks.list(caller, agent, {
        contextId: params.contextId,
        status: params.status,
        statusTimestampAfter: params.statusTimestampAfter,
        pageSize,
        pageToken: params.pageToken,
        historyLength: params.historyLength,
        includeArtifacts: params.includeArtifacts,
      })
      return { ...page, pageSize }
    })
  }

  async createTaskPushNotificationConfig(
    params: TaskPushNotificationConfig,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const { caller, agent } = callState(context)
    return this.#guarded(context, () => this.#tasks.setPushConfig(caller, agent, params))
  }

  async getTaskPushNotificationConfig(
    params: GetTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const { caller, agent } = callState(context)
    const found = (
      await this.#guarded(context, () => this.#tasks.pushConfigs(caller, agent, params.taskId))
    ).find((c) => c.id === params.id)
    if (found === undefined)
      throw new TaskNotFoundError(`No push notification config '${params.id}' on task '${params.taskId}'`)
    return found
  }

  async listTaskPushNotificationConfigs(
    params: ListTaskPushNotificationConfigsRequest,
    context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    const { caller, agent } = callState(context)
    const configs = await this.#guarded(context, () => this.#tasks.pushConfigs(caller, agent, params.taskId))
    return { configs, nextPageToken: '' }
  }

  async deleteTaskPushNotificationConfig(
    params: DeleteTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<void> {
    const { caller, agent } = callState(context)
    const deleted = await this.#guarded(context, () =>
      this.#tasks.deletePushConfig(caller, agent, params.taskId, params.id),
    )
    if (!deleted) {
      throw new TaskNotFoundError(`No push notification config '${params.id}' on task '${params.taskId}'`)
    }
  }

  /** Runs `work`, answering an error the caller did not cause as {@link InternalRequestError}. */
  async #guarded<T>(context: ServerCallContext, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw this.#answerable(error, callState(context))
    }
  }

  /**
   * The error to answer with: an A2A error (the caller's mistake, or the task's state) as it is; anything
   * else — a bug, the database — logged with its cause and the request id, and answered as a generic
   * internal error naming only the request id (its text can hold paths or driver details).
   */
  #answerable(error: unknown, state: CallState): Error {
    if (error instanceof A2AError) return error
    this.#logger.error(
      {
        requestId: state.requestId,
        agent: state.agent,
        caller: state.caller.name,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      },
      'a2a request failed',
    )
    return new InternalRequestError(state.requestId)
  }

  async *#sequenced(
    state: CallState,
    events: AsyncGenerator<SequencedEvent>,
  ): AsyncGenerator<StreamResponse> {
    try {
      for await (const { seq, event } of events) {
        state.seqs.push(seq)
        yield event
      }
    } catch (error) {
      throw this.#answerable(error, state)
    }
  }
}

/**
 * Where the answer to a sent message starts: a new task's first stored event is the task itself; a
 * continued one starts from a snapshot; a repeated one (a retry) from the task as it is now, even ended.
 */
function streamFrom(turn: SentTask['turn']): { afterSeq?: number; snapshot?: boolean | 'always' } {
  if (turn === 'new') return { afterSeq: 0 }
  return { snapshot: turn === 'repeated' ? 'always' : true }
}

/**
 * An internal error as the caller sees it: not an A2A error, so the SDK answers it as -32603 with this
 * message alone (the cause is in the server's log under the same request id).
 */
class InternalRequestError extends Error {
  constructor(requestId: string) {
    super(`Internal error (request id ${requestId})`)
    this.name = 'InternalRequestError'
  }
}
