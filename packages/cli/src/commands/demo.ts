import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Coordinator } from '@agent-comm/coordinator'
import {
  type CaughtStopSignals,
  catchStopSignals,
  type StopSignalName,
} from '@agent-comm/protocol/stop-signals'
import { BaseCommand } from '../base-command.js'
import type { ContextOptions } from '../context.js'
import { signalExitCode } from '../errors.js'
import { examples } from '../examples.js'
import { agentLine, conversationText, messageBlock } from '../format.js'
import type { DemoResult, DemoStep } from '../json-output.js'

/** `agent-comm demo`: a two-agent walkthrough on a temporary database. */
export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Run a two-agent demonstration on a temporary database.'
  static override description =
    `An architect and a builder register; the architect assigns a task (a task_assignment payload); the builder — an in-process agent behind a FunctionBridge, as \`agent-comm bridge\` runs external ones — claims it, replies in the same conversation (task_result) and acks; the architect polls the reply and acks; then the conversation is printed. Every step is printed as it happens.

It uses its own temporary database and removes it afterwards: it leaves nothing behind. When AGENT_COMM_DB_PATH is a PostgreSQL URL, that is a temporary schema (agent_comm_demo_<random>) in that database, dropped at the end; otherwise a temporary SQLite file, whatever AGENT_COMM_DB_PATH says. Stopped with Ctrl-C (SIGINT) or SIGTERM, it removes them too, then exits with 130 or 143 (a second signal exits at once).`
  static override examples = examples('', '--json')
  // The demo never touches a real database, so it has no --db flag (the cast keeps the base's flag types;
  // contextOptions below never reads flags.db).
  static override baseFlags = {} as (typeof BaseCommand)['baseFlags']

  readonly #dir = mkdtempSync(join(tmpdir(), 'agent-comm-demo-'))
  /** SIGINT and SIGTERM, caught for the whole command: the temporary database is removed before it exits. */
  #signals: CaughtStopSignals | undefined
  /** The coordinator being opened, so a stop waits for it and then closes (and drops) what it opened. */
  #opening: Promise<Coordinator> | undefined

  protected override contextOptions(): ContextOptions {
    return { projectRoot: this.#dir, temporary: { file: join(this.#dir, 'coordination.db') } }
  }

  override async init(): Promise<void> {
    // Before anything else: the folder above exists already, and a signal must not kill the process
    // between here and its removal. A second signal exits at once, for a stop that hangs.
    this.#signals = catchStopSignals({ onSecondSignal: (signal) => process.exit(signalExitCode(signal)) })
    await super.init()
  }

  protected override coordinator(): Promise<Coordinator> {
    this.#opening ??= super.coordinator()
    return this.#opening
  }

  async run(): Promise<DemoResult> {
    const stop = this.#signals!.signal
    // The walkthrough is abandoned at the signal: the command then goes on to catch() and finally(),
    // which close and remove the temporary database while its last call may still be pending.
    const walkthrough = this.#walkthrough()
    const stopped = new Promise<never>((_, reject) => {
      const onAbort = () => reject(new DemoStopped(stop.reason as StopSignalName))
      if (stop.aborted) onAbort()
      else stop.addEventListener('abort', onAbort, { once: true })
    })
    walkthrough.catch(() => {})
    stopped.catch(() => {})
    return Promise.race([walkthrough, stopped])
  }

  override async catch(error: Error): Promise<void> {
    // Stopped by a signal: no error report, the shell's exit code for it (finally() still cleans up).
    if (error instanceof DemoStopped) this.exit(signalExitCode(error.signal))
    return super.catch(error)
  }

  async #walkthrough(): Promise<DemoResult> {
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
    // A stop may come while the database is still opening: wait for it, so what it opens is closed (and a
    // temporary PostgreSQL schema dropped) rather than left behind.
    await this.#opening?.catch(() => undefined)
    // Close the database first (the base class does), then remove it with its folder.
    try {
      await super.finally(error)
    } finally {
      rmSync(this.#dir, { recursive: true, force: true })
      this.#signals?.release()
    }
  }
}

/** The demo was stopped by SIGINT or SIGTERM. */
class DemoStopped extends Error {
  readonly signal: StopSignalName

  constructor(signal: StopSignalName) {
    super(`demo stopped by ${signal}`)
    this.signal = signal
  }
}
