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
import { ExtendedAgentCardNotConfiguredError, TaskNotFoundError } from '@a2a-js/sdk/errors'
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server'
import { TaskCodecs } from './codecs.js'
import type { A2ACaller, A2ATasks } from './tasks.js'

/** What the fastify adapter puts in a call's `ServerCallContext.state`. */
export interface CallState {
  caller: A2ACaller
  agent: string
  card: AgentCard
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

  constructor(tasks: A2ATasks) {
    this.#tasks = tasks
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
    const { caller, agent, signal } = callState(context)
    const record = await this.#tasks.send(caller, agent, params)
    if (params.configuration?.returnImmediately === true) return TaskCodecs.task(record.task)
    // By default SendMessage answers once the task ends or waits for input (A2A 1.0, returnImmediately).
    const options =
      record.createdAt === record.updatedAt ? { afterSeq: 0, signal } : { snapshot: true, signal }
    for await (const _ of this.#tasks.events(caller, agent, record.id, options)) {
      // Only waiting for the stream to end.
    }
    return this.#tasks.get(caller, agent, record.id, params.configuration?.historyLength)
  }

  async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    const state = callState(context)
    const record = await this.#tasks.send(state.caller, state.agent, params)
    // A new task's first stored event is the task itself; a continued one starts from a snapshot.
    const options =
      record.createdAt === record.updatedAt
        ? { afterSeq: 0, signal: state.signal }
        : { snapshot: true, signal: state.signal }
    yield* this.#sequenced(state, this.#tasks.events(state.caller, state.agent, record.id, options))
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    const { caller, agent } = callState(context)
    return this.#tasks.get(caller, agent, params.id, params.historyLength)
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const { caller, agent } = callState(context)
    return this.#tasks.cancel(caller, agent, params.id)
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
    const tasks = await this.#tasks.list(caller, agent, params.contextId, pageSize)
    return { tasks, nextPageToken: '', pageSize, totalSize: tasks.length }
  }

  async createTaskPushNotificationConfig(
    params: TaskPushNotificationConfig,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const { caller, agent } = callState(context)
    return this.#tasks.setPushConfig(caller, agent, params)
  }

  async getTaskPushNotificationConfig(
    params: GetTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const { caller, agent } = callState(context)
    const found = (await this.#tasks.pushConfigs(caller, agent, params.taskId)).find(
      (c) => c.id === params.id,
    )
    if (found === undefined)
      throw new TaskNotFoundError(`No push notification config '${params.id}' on task '${params.taskId}'`)
    return found
  }

  async listTaskPushNotificationConfigs(
    params: ListTaskPushNotificationConfigsRequest,
    context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    const { caller, agent } = callState(context)
    return { configs: await this.#tasks.pushConfigs(caller, agent, params.taskId), nextPageToken: '' }
  }

  async deleteTaskPushNotificationConfig(
    params: DeleteTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<void> {
    const { caller, agent } = callState(context)
    if (!(await this.#tasks.deletePushConfig(caller, agent, params.taskId, params.id))) {
      throw new TaskNotFoundError(`No push notification config '${params.id}' on task '${params.taskId}'`)
    }
  }

  async *#sequenced(
    state: CallState,
    events: AsyncGenerator<{ seq: number; event: StreamResponse }>,
  ): AsyncGenerator<StreamResponse> {
    for await (const { seq, event } of events) {
      state.seqs.push(seq)
      yield event
    }
  }
}
