import { createHash, randomUUID } from 'node:crypto'
import { EventEmitter, on } from 'node:events'
import {
  type Message,
  Message as MessageCodec,
  TaskPushNotificationConfig as PushConfigCodec,
  Role,
  type SendMessageRequest,
  StreamResponse,
  type Task,
  Task as TaskCodec,
  type TaskPushNotificationConfig,
  TaskState,
  type TaskStatus,
} from '@a2a-js/sdk'
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors'
import type { Clock, Logger, MessageV2 } from '@agent-comm/protocol'
import {
  checkJsonLimits,
  createMessage,
  delay,
  errorMessage,
  MessageNotFoundError,
  silentLogger,
  utf8Length,
} from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
import { decodePageToken, encodePageToken } from './page-token.js'
import {
  invalidParams,
  partsText,
  partsToJson,
  replyOutcome,
  requireFreeText,
  requireValidParts,
} from './parts.js'
import { callerAgentId } from './profile.js'
import type { A2APushes } from './push.js'
import { parseTimestamp, TIMESTAMP_PROBLEM } from './status-timestamp.js'
import { type A2AStore, FINISHED_TASK_STATES, type StoredTaskState, type TaskRecord } from './store.js'

/** States after which a task never changes again. */
const TERMINAL = FINISHED_TASK_STATES
/** States in which a stream ends: terminal, or waiting for the caller. */
const STREAM_END: readonly StoredTaskState[] = [...TERMINAL, 'input-required']

const STATE_OF: Record<StoredTaskState, TaskState> = {
  submitted: TaskState.TASK_STATE_SUBMITTED,
  working: TaskState.TASK_STATE_WORKING,
  'input-required': TaskState.TASK_STATE_INPUT_REQUIRED,
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  canceled: TaskState.TASK_STATE_CANCELED,
  rejected: TaskState.TASK_STATE_REJECTED,
}

/** The stored state of each A2A task state a task can be stored in (ListTasks' `status` filter). */
const STORED_STATE: ReadonlyMap<TaskState, StoredTaskState> = new Map(
  Object.entries(STATE_OF).map(([stored, state]) => [state, stored as StoredTaskState]),
)

/** Who is asking: the token's caller name and the agents it may reach (undefined: all). */
export interface A2ACaller {
  name: string
  agents: readonly string[] | undefined
}

/** What {@link A2ATasks} is built from. */
export interface A2ATasksDeps {
  spool: Spool
  registry: Registry
  store: A2AStore
  clock: Clock
  logger?: Logger
  /** Largest caller message (its parts as JSON), in bytes (512 KiB): over it, invalid params. */
  maxMessageBytes?: number
  /** Most push-notification configs one task may have (10): another one is invalid params. */
  maxPushConfigsPerTask?: number
  /** How often open tasks are compared with their spool deliveries, in ms (250). */
  pollIntervalMs?: number
  /**
   * How many open tasks one pass follows (500); the next pass takes the next ones, so all are reached in
   * turn however many there are.
   */
  openTasksPerTick?: number
  /**
   * How long an open task may wait on a spool message that does not exist before it fails, in ms (60 000):
   * a relay that stopped between storing a task and queueing its message, or a message cleaned up. A retry
   * of the same message gets the task, so it must end rather than wait forever.
   */
  lostMessageAfterMs?: number
  /** Delivers push notifications on each tick (none: pushes stay queued). */
  pushes?: A2APushes
}

/**
 * What {@link A2ATasks.send} did: made a `new` task, `continued` an input-required one, or found the
 * message `repeated` (already sent: nothing new was delivered, `record` is the task it made then).
 */
export interface SentTask {
  record: TaskRecord
  turn: 'new' | 'continued' | 'repeated'
}

/** One event of a task's stream, with its sequence number (the SSE event id, for resuming). */
export interface SequencedEvent {
  seq: number
  event: StreamResponse
}

/**
 * A2A tasks on the spool. Sending a message stores a spool `task_assignment` to the agent and a task
 * whose state then follows the delivery: queued → submitted, leased → working, the agent's reply →
 * completed (its parts as the artifact) or input-required, dead-lettered → failed. Everything a caller
 * can ask for is read back from the store, so any relay on the same database answers the same.
 */
export class A2ATasks {
  readonly #spool: Spool
  readonly #registry: Registry
  readonly #store: A2AStore
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #maxMessageBytes: number
  readonly #maxPushConfigs: number
  readonly #pollIntervalMs: number
  readonly #openTasksPerTick: number
  readonly #lostMessageAfterMs: number
  /** Where the next pass starts: after the last task the previous one followed (none: from the start). */
  #cursor: { updatedAt: number; id: string } | undefined
  readonly #pushes: A2APushes | undefined
  /** Wakes streams of this process when a task changed here (other replicas' changes are polled). */
  readonly #changes = new EventEmitter({ captureRejections: false })
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<void> | undefined
  #stopped = false

  constructor(deps: A2ATasksDeps) {
    this.#spool = deps.spool
    this.#registry = deps.registry
    this.#store = deps.store
    this.#clock = deps.clock
    this.#logger = deps.logger ?? silentLogger
    this.#maxMessageBytes = deps.maxMessageBytes ?? 512 * 1024
    this.#maxPushConfigs = deps.maxPushConfigsPerTask ?? 10
    this.#pollIntervalMs = deps.pollIntervalMs ?? 250
    this.#openTasksPerTick = deps.openTasksPerTick ?? 500
    this.#lostMessageAfterMs = deps.lostMessageAfterMs ?? 60_000
    this.#pushes = deps.pushes
    this.#changes.setMaxListeners(0)
  }

  /** Starts following open tasks' deliveries. */
  start(): void {
    this.#stopped = false
    const loop = (): void => {
      if (this.#stopped) return
      this.#ticking = this.tick()
        .catch((error: unknown) => this.#logger.warn({ error: errorMessage(error) }, 'a2a tick failed'))
        .finally(() => {
          this.#ticking = undefined
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#pollIntervalMs)
        })
    }
    loop()
  }

  /** Stops following deliveries and ends open streams of this process. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    await this.#ticking
    this.#changes.emit('stop')
  }

  /**
   * SendMessage: a new task, or the next turn of an input-required one. A message the caller already
   * sent (the same `messageId`: a retry after a timeout) makes nothing new and answers with the task it
   * made then (`turn: 'repeated'`); the same id with other content is invalid params.
   */
  async send(caller: A2ACaller, agent: string, request: SendMessageRequest): Promise<SentTask> {
    const message = request.message
    const parts = requireValidParts(message)
    if (message === undefined) throw invalidParams('params.message is required')
    requireFreeText(message.taskId, 'params.message.taskId')
    requireFreeText(message.contextId, 'params.message.contextId')
    const partsJson = partsToJson(parts)
    if (utf8Length(JSON.stringify(partsJson)) > this.#maxMessageBytes) {
      throw invalidParams(`params.message is over ${this.#maxMessageBytes} bytes`)
    }
    const now = this.#clock.now()
    const digest = sentDigest(agent, message)
    const repeated = await this.#repeated(caller, agent, message.messageId, digest)
    if (repeated !== undefined) return repeated
    let existing: TaskRecord | undefined
    if (message.taskId !== '') {
      existing = await this.#owned(caller, agent, message.taskId)
      // A2A: when both are given they name the same conversation; a mismatch is the caller's mistake.
      if (message.contextId !== '' && message.contextId !== existing.contextId) {
        throw invalidParams(
          `params.message.contextId '${message.contextId}' is not the context of task ${existing.id} ('${existing.contextId}'): give that contextId or leave it out`,
        )
      }
      if (existing.state !== 'input-required') {
        throw new UnsupportedOperationError(
          `Task ${existing.id} is ${existing.state}: only an input-required task takes another message`,
        )
      }
    } else if (message.contextId !== '') {
      const latest = await this.#store.latestInContext(caller.name, message.contextId)
      if (latest !== undefined && latest.agent === agent && latest.state === 'input-required')
        existing = latest
    }
    const from = callerAgentId(caller.name)
    const taskId = existing?.id ?? randomUUID()
    const contextId = existing?.contextId ?? (message.contextId || randomUUID())
    const userMessage: Message = { ...message, taskId, contextId, role: Role.ROLE_USER }
    let routing: { replyTo?: string; conversationId?: string } | undefined
    if (existing !== undefined) {
      const question = (TaskCodec.fromJSON(existing.task).status?.message?.metadata ?? {}) as Record<
        string,
        unknown
      >
      const asked = typeof question.agentCommMessageId === 'string' ? question.agentCommMessageId : undefined
      const previous = await this.#spool.status(existing.messageId)
      routing = { replyTo: asked, conversationId: previous.message.routing.conversationId }
    }
    const data = { a2a: { taskId, contextId, messageId: message.messageId, parts: partsJson } }
    // The parts reach the agent four levels down (payload.data.a2a.parts[i]): the payload's limits are theirs.
    const breach = checkJsonLimits(data)
    if (breach !== undefined) {
      throw invalidParams(
        `params.message.parts, as the agent receives them in payload.data.a2a.parts, ${breach.message}`,
      )
    }
    const spoolMessage = createMessage(
      {
        fromAgent: from,
        toAgent: agent,
        subject: `A2A task ${taskId}`,
        body: partsText(parts) || '(no text)',
        payload: { type: 'task_assignment', data },
        routing,
      },
      { clock: this.#clock },
    )
    if (existing === undefined) {
      const status = this.#status('submitted', undefined, now)
      const task: Task = {
        id: taskId,
        contextId,
        status,
        artifacts: [],
        history: [userMessage],
        metadata: undefined,
      }
      const record: TaskRecord = {
        id: taskId,
        caller: caller.name,
        agent,
        contextId,
        messageId: spoolMessage.id,
        state: 'submitted',
        task: TaskCodec.toJSON(task) as Record<string, unknown>,
        createdAt: now,
        updatedAt: now,
      }
      const push = request.configuration?.taskPushNotificationConfig
      const pushConfig = push === undefined ? undefined : pushConfigFor(taskId, push)
      if (pushConfig !== undefined) await this.#checkPushUrl(pushConfig.url)
      // The task is stored before the spool message: a reply can never arrive for a task not yet written.
      const inserted = await this.#store.insertTask(
        record,
        [this.#eventJson({ $case: 'task', value: task })],
        pushConfig === undefined
          ? undefined
          : {
              taskId,
              id: pushConfig.id,
              config: PushConfigCodec.toJSON(pushConfig) as Record<string, unknown>,
            },
        { caller: caller.name, messageId: message.messageId, taskId, digest },
      )
      if (!inserted) return this.#raced(caller, agent, message.messageId, digest)
      await this.#spool.send(spoolMessage)
      this.#changed(taskId)
      return { record, turn: 'new' }
    }
    const task = TaskCodec.fromJSON(existing.task)
    task.history.push(userMessage)
    task.status = this.#status('submitted', undefined, now)
    const moved = await this.#store.transition({
      taskId,
      from: 'input-required',
      state: 'submitted',
      task: TaskCodec.toJSON(task) as Record<string, unknown>,
      messageId: spoolMessage.id,
      sent: { caller: caller.name, messageId: message.messageId, taskId, digest },
      events: [this.#statusEvent(task, false)],
      at: now,
    })
    if (!moved) {
      // Either the same message, sent again at once, took the turn first, or the task moved on.
      const raced = await this.#repeated(caller, agent, message.messageId, digest)
      if (raced !== undefined) return raced
      throw new UnsupportedOperationError(`Task ${taskId} changed meanwhile; get it and retry`)
    }
    await this.#spool.send(spoolMessage)
    this.#changed(taskId)
    return { record: (await this.#store.getTask(taskId)) as TaskRecord, turn: 'continued' }
  }

  /**
   * The task of a message the caller already sent with this id (a retry), or undefined when it is new.
   * The same id with other content, or to another agent, is the caller's mistake: invalid params.
   */
  async #repeated(
    caller: A2ACaller,
    agent: string,
    messageId: string,
    digest: string,
  ): Promise<SentTask | undefined> {
    const sent = await this.#store.sentMessage(caller.name, messageId)
    if (sent === undefined) return undefined
    const record = await this.#store.getTask(sent.taskId)
    if (sent.digest !== digest || record === undefined || record.agent !== agent) {
      throw invalidParams(
        `params.message.messageId '${messageId}' was already used for another message (task ${sent.taskId}): a retry must send the same message to the same agent; give a new message its own messageId`,
      )
    }
    return { record, turn: 'repeated' }
  }

  /** The task of the same message sent at the same time, which the store recorded first. */
  async #raced(caller: A2ACaller, agent: string, messageId: string, digest: string): Promise<SentTask> {
    const repeated = await this.#repeated(caller, agent, messageId, digest)
    if (repeated === undefined) throw new Error(`a2a message ${messageId} neither stored nor found`)
    return repeated
  }

  /** GetTask, for its caller only (another caller's task is not found). */
  async get(caller: A2ACaller, agent: string, taskId: string, historyLength?: number): Promise<Task> {
    return withHistory(TaskCodec.fromJSON((await this.#owned(caller, agent, taskId)).task), historyLength)
  }

  /**
   * ListTasks of this caller with this agent, newest first, a page of at most `pageSize` after
   * `pageToken` (a previous page's `nextPageToken`; a token this server did not give for this list is
   * invalid params). `nextPageToken` is empty on the last page. Each task has at most `historyLength`
   * messages of its history (all when undefined), and its artifacts only when `includeArtifacts`.
   */
  async list(
    caller: A2ACaller,
    agent: string,
    params: {
      contextId?: string | undefined
      status?: TaskState | undefined
      /** Only tasks whose status changed at or after this RFC 3339 time. */
      statusTimestampAfter?: string | undefined
      pageSize: number
      pageToken?: string | undefined
      historyLength?: number | undefined
      includeArtifacts?: boolean | undefined
    },
  ): Promise<{ tasks: Task[]; nextPageToken: string; totalSize: number }> {
    requireFreeText(params.contextId ?? '', 'params.contextId')
    const contextId = params.contextId || undefined
    // A task's status timestamp is the time of its last change (`updatedAt`): the filter is on the column.
    const updatedFrom =
      params.statusTimestampAfter === undefined || params.statusTimestampAfter === ''
        ? undefined
        : parseTimestamp(params.statusTimestampAfter)
    if (updatedFrom === undefined && params.statusTimestampAfter)
      throw invalidParams(`params.statusTimestampAfter ${TIMESTAMP_PROBLEM}`)
    // `status` filters on the task's state; unspecified (0) lists every state. A state no task is ever
    // stored in here (auth-required) lists nothing.
    const filtered = params.status !== undefined && params.status !== TaskState.TASK_STATE_UNSPECIFIED
    const state = filtered ? STORED_STATE.get(params.status as TaskState) : undefined
    if (filtered && state === undefined) return { tasks: [], nextPageToken: '', totalSize: 0 }
    const query = { caller: caller.name, agent, contextId, state, updatedFrom }
    const before = decodePageToken(query, params.pageToken)
    // The agent is part of the query: filtered after the limit, a page of another agent's tasks hid its own.
    const filter = {
      agent,
      ...(contextId === undefined ? {} : { contextId }),
      ...(state === undefined ? {} : { state }),
      ...(updatedFrom === undefined ? {} : { updatedFrom }),
    }
    // One more than a page tells whether another page follows, so the last page has no token.
    const records = await this.#store.listTasks(caller.name, {
      ...filter,
      limit: params.pageSize + 1,
      ...(before === undefined ? {} : { before }),
    })
    const page = records.slice(0, params.pageSize)
    const last = page.at(-1)
    const nextPageToken =
      records.length > params.pageSize && last !== undefined ? encodePageToken(query, last) : ''
    const totalSize = await this.#store.countTasks(caller.name, filter)
    const tasks = page.map((r) => {
      const task = withHistory(TaskCodec.fromJSON(r.task), params.historyLength)
      // A2A: without includeArtifacts (default false) a listed task has no `artifacts` field at all.
      if (params.includeArtifacts !== true) task.artifacts = []
      return task
    })
    return { tasks, nextPageToken, totalSize }
  }

  /**
   * CancelTask: a task not yet finished is canceled, and its spool delivery taken back from the agent
   * (dead-lettered with the reason): a queued one is no longer claimable, a leased one's ack is refused;
   * a reply the agent still sends is discarded.
   */
  async cancel(caller: A2ACaller, agent: string, taskId: string): Promise<Task> {
    for (;;) {
      const record = await this.#owned(caller, agent, taskId)
      if (TERMINAL.includes(record.state)) {
        throw new TaskNotCancelableError(`Task ${taskId} is already ${record.state}`)
      }
      const task = TaskCodec.fromJSON(record.task)
      const at = this.#clock.now()
      task.status = this.#status('canceled', undefined, at)
      const moved = await this.#store.transition({
        taskId,
        from: record.state,
        state: 'canceled',
        task: TaskCodec.toJSON(task) as Record<string, unknown>,
        events: [this.#statusEvent(task, true)],
        at,
      })
      if (moved) {
        await this.#withdraw(record)
        this.#changed(taskId)
        return task
      }
    }
  }

  /**
   * The events of a task after `afterSeq`, then each new one as it is stored, until the task ends or
   * waits for input (or `signal` aborts). With `snapshot`, starts with the task as it is now (what
   * SubscribeToTask sends first) and continues after the latest stored event; a task that has ended is
   * refused (nothing to subscribe to), unless `snapshot` is `'always'` (a repeated send: its answer is
   * the task as it is, even ended).
   */
  async *events(
    caller: A2ACaller,
    agent: string,
    taskId: string,
    options: { afterSeq?: number; snapshot?: boolean | 'always'; signal?: AbortSignal },
  ): AsyncGenerator<SequencedEvent> {
    const record = await this.#owned(caller, agent, taskId)
    let seq = options.afterSeq ?? 0
    if (options.snapshot !== undefined && options.snapshot !== false) {
      if (options.snapshot !== 'always' && TERMINAL.includes(record.state)) {
        throw new UnsupportedOperationError(
          `Task ${taskId} is ${record.state}: there is nothing to subscribe to`,
        )
      }
      const stored = await this.#store.events(taskId, 0)
      seq = stored.at(-1)?.seq ?? 0
      yield { seq, event: { payload: { $case: 'task', value: TaskCodec.fromJSON(record.task) } } }
      if (STREAM_END.includes(record.state)) return
    }
    const wake = new AbortController()
    const onStop = (): void => wake.abort()
    options.signal?.addEventListener('abort', onStop)
    this.#changes.once('stop', onStop)
    const changes = on(this.#changes, taskId, { signal: wake.signal })
    try {
      for (;;) {
        const stored = await this.#store.events(taskId, seq)
        for (const { seq: next, event: json } of stored) {
          seq = next
          const event = StreamResponse.fromJSON(json)
          yield { seq, event }
          if (endsStream(event)) return
        }
        if (stored.length === 0 && (await this.#ended(taskId, seq))) return
        if (wake.signal.aborted) return
        // A change here wakes us at once; one on another replica is seen on the next poll.
        await Promise.race([
          changes.next().catch(() => undefined),
          delay(this.#pollIntervalMs * 4, wake.signal),
        ])
        if (wake.signal.aborted) return
      }
    } finally {
      options.signal?.removeEventListener('abort', onStop)
      this.#changes.off('stop', onStop)
      wake.abort()
    }
  }

  /**
   * Whether a stream already past `seq` has nothing more to wait for: the task has ended (or waits for
   * input) and no event follows `seq` — a reconnect after the last event of a finished task. The state
   * is read before the events: a transition writes both in one transaction, so a state that has ended
   * means every event of it is already readable.
   */
  async #ended(taskId: string, seq: number): Promise<boolean> {
    const record = await this.#store.getTask(taskId)
    if (record === undefined || !STREAM_END.includes(record.state)) return false
    return (await this.#store.events(taskId, seq)).length === 0
  }

  /**
   * One pass: moves open tasks along their deliveries and takes the agents' replies. A pass takes one page
   * of open tasks, the next pass the page after it: tasks no agent answers (one caller's flood of them)
   * never keep the others — and their callers' replies — from being reached.
   */
  async tick(): Promise<void> {
    const limit = this.#openTasksPerTick
    const open = await this.#store.openTasks(limit, this.#cursor)
    const last = open.at(-1)
    this.#cursor =
      open.length < limit || last === undefined ? undefined : { updatedAt: last.updatedAt, id: last.id }
    const callers = new Set<string>()
    for (const record of open) {
      callers.add(record.caller)
      await this.#follow(record)
    }
    for (const caller of callers) await this.#takeReplies(callerAgentId(caller))
    await this.#pushes?.deliverDue()
  }

  /** CreateTaskPushNotificationConfig: the task's events from now on are pushed to `config.url`. */
  async setPushConfig(
    caller: A2ACaller,
    agent: string,
    config: TaskPushNotificationConfig,
  ): Promise<TaskPushNotificationConfig> {
    await this.#owned(caller, agent, config.taskId)
    const saved = pushConfigFor(config.taskId, config)
    await this.#checkPushUrl(saved.url)
    const stored = await this.#store.savePushConfig(
      {
        taskId: saved.taskId,
        id: saved.id,
        config: PushConfigCodec.toJSON(saved) as Record<string, unknown>,
      },
      this.#clock.now(),
      this.#maxPushConfigs,
    )
    if (!stored) {
      throw invalidParams(
        `A task has at most ${this.#maxPushConfigs} push notification configs, and task ${saved.taskId} has them all: delete one (DeleteTaskPushNotificationConfig) or replace one by giving its id`,
      )
    }
    return saved
  }

  async pushConfigs(caller: A2ACaller, agent: string, taskId: string): Promise<TaskPushNotificationConfig[]> {
    await this.#owned(caller, agent, taskId)
    return (await this.#store.pushConfigs(taskId)).map((r) => PushConfigCodec.fromJSON(r.config))
  }

  async deletePushConfig(caller: A2ACaller, agent: string, taskId: string, id: string): Promise<boolean> {
    await this.#owned(caller, agent, taskId)
    requireFreeText(id, 'the push notification config id')
    return this.#store.deletePushConfig(taskId, id)
  }

  /**
   * Refuses (invalid params) a push URL the relay will not POST to. A host that does not resolve yet is
   * accepted: each delivery checks it again.
   */
  async #checkPushUrl(url: string): Promise<void> {
    const problem = await this.#pushes?.urlProblem(url)
    if (problem !== undefined && problem.unresolved !== true) throw invalidParams(problem.reason)
  }

  /** Takes the task's current turn back from the agent's queue (best effort: the task is canceled anyway). */
  async #withdraw(record: TaskRecord): Promise<void> {
    try {
      await this.#spool.withdraw(record.messageId, record.agent, {
        reason: `A2A task ${record.id} was canceled by its caller`,
      })
    } catch (error) {
      this.#logger.warn(
        { taskId: record.id, error: errorMessage(error) },
        'a2a cancel could not take the delivery back',
      )
    }
  }

  async #follow(record: TaskRecord): Promise<void> {
    let delivery: { status: string; lastError: string | null } | undefined
    try {
      const status = await this.#spool.status(record.messageId)
      delivery = status.deliveries.find((d) => d.recipient === record.agent)
    } catch (error) {
      // Just stored, its message may be on its way (another replica's send); long missing, it never comes.
      if (
        error instanceof MessageNotFoundError &&
        this.#clock.now() - record.updatedAt >= this.#lostMessageAfterMs
      ) {
        const task = TaskCodec.fromJSON(record.task)
        task.status = this.#status(
          'failed',
          this.#agentMessage(task, [
            {
              text: `The relay lost this task's message to ${record.agent} before delivering it (it stopped between storing the task and queueing the message, or the message was cleaned up): send the message again with a new messageId`,
            },
          ]),
        )
        await this.#move(record, 'failed', task, [this.#statusEvent(task, true)])
        return
      }
      this.#logger.warn({ taskId: record.id, error: String(error) }, 'a2a task lost its spool message')
      return
    }
    if (delivery === undefined) return
    const task = TaskCodec.fromJSON(record.task)
    if (delivery.status === 'leased' && record.state === 'submitted') {
      task.status = this.#status('working')
      await this.#move(record, 'working', task, [this.#statusEvent(task, false)])
    } else if (delivery.status === 'failed' || delivery.status === 'expired') {
      const reason = delivery.lastError ?? `the delivery ${delivery.status}`
      task.status = this.#status(
        'failed',
        this.#agentMessage(task, [{ text: `Delivery to ${record.agent} failed: ${reason}` }]),
      )
      await this.#move(record, 'failed', task, [this.#statusEvent(task, true)])
    }
  }

  async #takeReplies(inbox: string): Promise<void> {
    const claimed = await this.#spool.claim(inbox, { limit: 50 })
    for (const { message, lease } of claimed) {
      try {
        await this.#applyReply(message)
      } finally {
        await this.#spool.ack(message.id, inbox, { receipt: lease.receipt })
      }
    }
  }

  async #applyReply(reply: MessageV2): Promise<void> {
    const replyTo = reply.routing.replyTo
    const taskId = replyTo === undefined ? undefined : await this.#store.taskIdForMessage(replyTo)
    const record = taskId === undefined ? undefined : await this.#store.getTask(taskId)
    if (record === undefined || !['submitted', 'working'].includes(record.state)) {
      this.#logger.info({ messageId: reply.id, replyTo }, 'a2a reply for no open task: discarded')
      return
    }
    // Only the agent the task was sent to answers it: anyone else who learns the message id is ignored.
    if (reply.fromAgent !== record.agent) {
      this.#logger.warn(
        { messageId: reply.id, replyTo, taskId: record.id, fromAgent: reply.fromAgent, agent: record.agent },
        'a2a reply from an agent other than the task agent: discarded',
      )
      return
    }
    const outcome = replyOutcome(reply)
    const task = TaskCodec.fromJSON(record.task)
    const agentMessage = this.#agentMessage(task, [], reply.id)
    agentMessage.parts = outcome.parts
    task.history.push(agentMessage)
    if (outcome.state === 'completed') {
      const artifact = {
        artifactId: reply.id,
        name: 'reply',
        description: `${record.agent}'s reply`,
        parts: outcome.parts,
        metadata: undefined,
        extensions: [],
      }
      task.artifacts.push(artifact)
      task.status = this.#status('completed')
      await this.#move(record, 'completed', task, [
        this.#eventJson({
          $case: 'artifactUpdate',
          value: {
            taskId: task.id,
            contextId: task.contextId,
            artifact,
            append: false,
            lastChunk: true,
            metadata: undefined,
          },
        }),
        this.#statusEvent(task, true),
      ])
    } else {
      task.status = this.#status(outcome.state, agentMessage)
      await this.#move(record, outcome.state, task, [
        this.#statusEvent(task, outcome.state !== 'input-required'),
      ])
    }
  }

  async #move(
    record: TaskRecord,
    state: StoredTaskState,
    task: Task,
    events: Record<string, unknown>[],
  ): Promise<void> {
    const moved = await this.#store.transition({
      taskId: record.id,
      from: record.state,
      state,
      task: TaskCodec.toJSON(task) as Record<string, unknown>,
      events,
      // The status timestamp is the time of the change: ListTasks' statusTimestampAfter filters on it.
      at: statusTime(task) ?? this.#clock.now(),
    })
    if (moved) this.#changed(record.id)
  }

  async #owned(caller: A2ACaller, agent: string, taskId: string): Promise<TaskRecord> {
    requireFreeText(taskId, 'the task id')
    const record = taskId === '' ? undefined : await this.#store.getTask(taskId)
    // Another caller's task, or another agent's, is answered exactly like one that does not exist.
    if (record === undefined || record.caller !== caller.name || record.agent !== agent) {
      throw new TaskNotFoundError(`Task '${taskId}' not found`)
    }
    return record
  }

  /** A status at `at` (now): the time the task's row records as its last change is the same. */
  #status(state: StoredTaskState, message?: Message, at = this.#clock.now()): TaskStatus {
    return { state: STATE_OF[state], message, timestamp: new Date(at).toISOString() }
  }

  #agentMessage(task: Task, parts: Record<string, unknown>[], agentCommMessageId?: string): Message {
    return MessageCodec.fromJSON({
      messageId: randomUUID(),
      contextId: task.contextId,
      taskId: task.id,
      role: 'ROLE_AGENT',
      parts,
      metadata: agentCommMessageId === undefined ? undefined : { agentCommMessageId },
    })
  }

  #statusEvent(task: Task, _final: boolean): Record<string, unknown> {
    return this.#eventJson({
      $case: 'statusUpdate',
      value: { taskId: task.id, contextId: task.contextId, status: task.status, metadata: undefined },
    })
  }

  #eventJson(payload: NonNullable<StreamResponse['payload']>): Record<string, unknown> {
    return StreamResponse.toJSON({ payload }) as Record<string, unknown>
  }

  #changed(taskId: string): void {
    this.#changes.emit(taskId)
  }
}

/**
 * The SHA-256 of what a caller sent — the agent and the message as the SDK encodes it (a fixed field
 * order) — to tell a retry (the same) from another message that reuses its id.
 */
function sentDigest(agent: string, message: Message): string {
  return createHash('sha256')
    .update(JSON.stringify([agent, MessageCodec.toJSON(message)]))
    .digest('hex')
}

/** A caller's push config, checked (an http(s) URL) and given the task id and an id if it has none. */
function pushConfigFor(taskId: string, config: TaskPushNotificationConfig): TaskPushNotificationConfig {
  let url: URL
  try {
    url = new URL(config.url)
  } catch {
    throw invalidParams('the push notification config needs a url')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidParams('the push notification url must be http(s)')
  }
  requireFreeText(config.id, 'the push notification config id')
  return { ...config, taskId, id: config.id === '' ? randomUUID() : config.id, tenant: '' }
}

function endsStream(event: StreamResponse): boolean {
  const payload = event.payload
  if (payload?.$case !== 'statusUpdate') return false
  const state = payload.value.status?.state
  return (
    state === TaskState.TASK_STATE_COMPLETED ||
    state === TaskState.TASK_STATE_FAILED ||
    state === TaskState.TASK_STATE_CANCELED ||
    state === TaskState.TASK_STATE_REJECTED ||
    state === TaskState.TASK_STATE_INPUT_REQUIRED
  )
}

/**
 * `task` with at most `historyLength` of its latest messages (A2A: undefined keeps them all, 0 none —
 * the field is then left out), as GetTask and ListTasks answer.
 */
function withHistory(task: Task, historyLength: number | undefined): Task {
  if (historyLength !== undefined) task.history = historyLength <= 0 ? [] : task.history.slice(-historyLength)
  return task
}

/** The time of `task`'s status in ms, if it has one. */
function statusTime(task: Task): number | undefined {
  const at = task.status?.timestamp === undefined ? Number.NaN : Date.parse(task.status.timestamp)
  return Number.isNaN(at) ? undefined : at
}
