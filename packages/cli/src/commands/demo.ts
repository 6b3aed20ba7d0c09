import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MessageV2 } from '@agent-comm/protocol'
import { BaseCommand } from '../base-command.js'
import type { ContextOptions } from '../context.js'
import { agentLine, conversationText, messageBlock } from '../format.js'

/** One step of the demo as `--json` reports it. */
export interface DemoStep {
  step: number
  actor: 'architect' | 'builder'
  action: string
  detail: string
}

/** `--json` output of `demo`. */
export interface DemoResult {
  steps: DemoStep[]
  conversationId: string
  /** The conversation at the end, oldest first. */
  conversation: MessageV2[]
}

/** `agent-comm demo`: a two-agent walkthrough on a temporary database. */
export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Run a two-agent demonstration on a temporary database.'
  static override description =
    `An architect and a builder register; the architect assigns a task (a task_assignment payload); the builder — an in-process agent behind a FunctionBridge, as \`agent-comm bridge\` runs external ones — claims it, replies in the same conversation (task_result) and acks; the architect polls the reply and acks; then the conversation is printed. Every step is printed as it happens.

It uses its own temporary database and removes it afterwards: it leaves nothing behind. When AGENT_COMM_DB_PATH is a PostgreSQL URL, that is a temporary schema (agent_comm_demo_<random>) in that database, dropped at the end; otherwise a temporary SQLite file, whatever AGENT_COMM_DB_PATH says.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  // The demo never touches a real database, so it has no --db flag (the cast keeps the base's flag types;
  // contextOptions below never reads flags.db).
  static override baseFlags = {} as (typeof BaseCommand)['baseFlags']

  readonly #dir = mkdtempSync(join(tmpdir(), 'agent-comm-demo-'))

  protected override contextOptions(): ContextOptions {
    return { projectRoot: this.#dir, temporary: { file: join(this.#dir, 'coordination.db') } }
  }

  async run(): Promise<DemoResult> {
    const coordinator = await this.coordinator()
    const steps: DemoStep[] = []
    const say = (actor: DemoStep['actor'], action: string, detail: string): void => {
      const step = { step: steps.length + 1, actor, action, detail }
      steps.push(step)
      this.log(`[${step.step}] ${actor} ${action}\n${detail.replace(/^/gm, '    ')}\n`)
    }

    const architect = await coordinator.register({
      agentId: 'architect',
      capabilities: ['plan', 'review'],
      device: 'demo',
    })
    say('architect', 'registers', agentLine(architect))
    const builder = await coordinator.register({
      agentId: 'builder',
      capabilities: ['code', 'test'],
      device: 'demo',
    })
    say('builder', 'registers', agentLine(builder))

    const task = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task: Auth Module',
      body: 'Please implement user authentication with JWT tokens.',
      priority: 'high',
      payload: { type: 'task_assignment', data: { feature: 'auth', tokens: 'JWT' } },
    })
    const conversationId = task.message.routing.conversationId
    say('architect', 'assigns a task to builder', `${task.messageId} in conversation ${conversationId}`)

    // The builder is an in-process agent behind a FunctionBridge: the bridge runner claims the task,
    // the handler answers it, and the runner replies in the conversation and acks, as `agent-comm bridge`
    // does for an external program.
    const { BridgeRunner, FunctionBridge } = await (await this.runtime()).loadBridges()
    const builderAgent = new FunctionBridge(
      () => ({
        success: true,
        replyText: 'Auth module complete. PR #456 ready for review.',
        replyPayload: { type: 'task_result', data: { pr: 456, tests: 'passing' } },
      }),
      { name: 'builder (in-process)' },
    )
    const summary = await new BridgeRunner({
      coordinator,
      agent: 'builder',
      bridge: builderAgent,
      maxMessages: 1,
      onEvent: (event) => {
        if (event.type === 'forwarded') return
        if (event.type === 'received') {
          say(
            'builder',
            'polls and claims the task',
            `${event.messageId} (attempt ${event.attempt}), answered by ${builderAgent.name}`,
          )
        } else if (event.type === 'replied') {
          say('builder', 'replies in the same conversation', `${event.replyId} (replyTo ${event.messageId})`)
        } else if (event.type === 'acked') {
          say('builder', 'acks the task', `${event.messageId}: acked`)
        } else {
          say('builder', `could not finish the task (${event.type})`, JSON.stringify(event))
        }
      },
    }).run({ once: true })
    if (summary.succeeded !== 1) throw new Error('demo: the builder did not answer the task')

    const [result] = await coordinator.poll('architect', { limit: 1 })
    if (result === undefined) throw new Error('demo: the architect found no reply to claim')
    say('architect', 'polls and claims the result', messageBlock(result).replace(/^ {2}/gm, ''))
    const resultAck = await coordinator.ack(result)
    say('architect', 'acks the result', `${resultAck.messageId}: ${resultAck.status}`)

    const conversation = await coordinator.conversation(conversationId)
    this.log(conversationText(conversationId, conversation))
    return { steps, conversationId, conversation }
  }

  override async finally(error: Error | undefined): Promise<void> {
    // Close the database first (the base class does), then remove it with its folder.
    try {
      await super.finally(error)
    } finally {
      rmSync(this.#dir, { recursive: true, force: true })
    }
  }
}
