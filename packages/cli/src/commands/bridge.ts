import type { BridgeEvent } from '@agent-comm/bridge'
import { redactUrl } from '@agent-comm/protocol/redact-url'
import { Errors, Flags } from '@oclif/core'
import { splitCommandLine } from '../argv.js'
import { agentArg, BaseCommand } from '../base-command.js'
import { buildBridge } from '../context.js'
import { CommandFailure, ExitCode } from '../errors.js'
import { examples } from '../examples.js'
import {
  claimLimitFlag,
  leaseSecondsFlag,
  limitFlag,
  MAX_TIMEOUT_SECONDS,
  MAX_WAIT_SECONDS,
  positiveNumberFlag,
  secondsFlag,
} from '../flags.js'
import type { BridgeCheckResult, BridgeRunResult, BridgeStoppedLine } from '../json-output.js'
import { safeLine } from '../terminal-text.js'

/** `agent-comm bridge`: answers an agent's messages with a command or a webhook. */
export default class Bridge extends BaseCommand<typeof Bridge> {
  static override summary = "Answer an agent's messages with an external program or a webhook."
  static override description =
    `Waits for messages to <agent>, hands each to the runtime, sends its answer back as a reply in the same conversation and acks the message. A failure nacks it, so it is retried and, after its last attempt, dead-lettered (see: agent-comm failed).

--command runs the program once per message: the message as JSON on stdin, AGENT_COMM_MESSAGE_ID, AGENT_COMM_FROM, AGENT_COMM_SUBJECT, AGENT_COMM_CONVERSATION_ID (and more) in its environment; its stdout is the reply, a non-zero exit a failure with stderr as the reason. The command line is split like a shell would (quotes, backslashes) but never run through a shell, and message text is never put on it. The command inherits this environment except agent-comm's own credentials (agents' relay secrets, A2A tokens, keys, a database URL with a password): it reads hostile text and answers through the bridge, which signs for it. --pass-env NAME hands one over anyway.

--webhook POSTs {"message": …, "attempt": n} to the URL; the response body is the reply. 5xx and connection errors are retried, other 4xx dead-lettered. The Authorization header the webhook needs, if any, is read from AGENT_COMM_BRIDGE_WEBHOOK_AUTHORIZATION (e.g. "Bearer <token>"): a token in the URL would show in ps. Progress lines show the webhook as its host only.

--a2a forwards each message to the external A2A agent the agent stands for (registered with agent-comm register <agent> --a2a-url <card URL>) with an A2A client: the task's artifacts are the reply. A bearer token for the remote agent is read from AGENT_COMM_A2A_TOKEN_<AGENT> (the agent id upper-cased, - as _, e.g. AGENT_COMM_A2A_TOKEN_PARTNER_B), else from AGENT_COMM_A2A_TOKEN. When the agent's card says it streams, the task is streamed (else polled); a task that asks for input is answered with its question, and the next message of the same conversation continues it.

Without --once it runs until Ctrl-C or SIGTERM, then stops cleanly: work in progress finishes or goes back to the queue. Events are logged to stderr. With --json, stdout is NDJSON to the end: one JSON event per line ({"type":"received"|"forwarded"|"replied"|"acked"|"nacked"|"error", "messageId", …}), then {"type":"stopped", agent, bridge, processed, succeeded, failed} — or an {"error": …} line — as the last line.`
  static override examples = examples`
    builder --command "node ./agents/builder.js"
    builder --command "python3 agent.py --model small" --concurrency 2 --timeout 600
    reviewer --webhook https://hooks.example.com/review --once
    builder --command "./agent.sh" --check
    builder --command "./slow-to-start.sh" --check --health-timeout 60
    partner --a2a   # registered with --a2a-url
    builder --command "./agent.sh" --json | jq -c 'select(.type == "nacked")'
  `
  static override args = { agent: agentArg('agent whose messages the bridge answers') }
  static override flags = {
    command: Flags.string({
      char: 'c',
      description: 'program (and arguments) to run per message',
      helpValue: '"cmd args…"',
      exactlyOne: ['command', 'webhook', 'a2a'],
    }),
    webhook: Flags.string({ description: 'URL to POST each message to', helpValue: '<url>' }),
    a2a: Flags.boolean({
      description:
        "forward to the external A2A agent of the agent's profile (register --a2a-url); token from AGENT_COMM_A2A_TOKEN_<AGENT> or AGENT_COMM_A2A_TOKEN",
    }),
    once: Flags.boolean({
      description: 'process one batch of waiting messages and exit (exit 1 if any failed)',
    }),
    check: Flags.boolean({ description: 'only check that the runtime is reachable (exit 0 or 1)' }),
    'health-timeout': secondsFlag({
      description: `with --check: how long the runtime may take to answer (the command's --health run, the webhook's GET, the A2A card), from 0.001 to ${MAX_TIMEOUT_SECONDS} (default 10)`,
      min: 0.001,
      max: MAX_TIMEOUT_SECONDS,
      dependsOn: ['check'],
    }),
    interval: secondsFlag({
      description: `longest wait for new messages in one poll, from 0.1 to ${MAX_WAIT_SECONDS} (default 30)`,
      min: 0.1,
      max: MAX_WAIT_SECONDS,
    }),
    'max-messages': claimLimitFlag('messages claimed per poll'),
    concurrency: limitFlag({ description: 'messages handled at the same time (1-256, default 1)', max: 256 }),
    timeout: positiveNumberFlag({
      description: `time limit per message, at most ${MAX_TIMEOUT_SECONDS} (default 300)`,
      helpValue: '<seconds>',
      max: MAX_TIMEOUT_SECONDS,
    }),
    'pass-env': Flags.string({
      description:
        "with --command: give the command this variable although it carries agent-comm's credentials (repeatable; withheld by default: AGENT_COMM_SECRET_*, AGENT_COMM_A2A_TOKEN*, the relay's secrets key and admin secret, the MCP token, the webhook authorization, a database URL with a password)",
      helpValue: '<NAME>',
      multiple: true,
      dependsOn: ['command'],
    }),
    'lease-seconds': leaseSecondsFlag('lease per message, renewed while it runs'),
  }

  /** The card URL the agent was registered with (`register --a2a-url`), or a usage error saying how to set it. */
  async #a2aCardUrl(agent: string): Promise<string> {
    const profile = await (await this.coordinator()).agent(agent)
    const url = profile === undefined ? undefined : cardUrlOf(profile.metadata)
    if (url === undefined) {
      throw new Errors.CLIError(
        `Agent '${agent}' has no A2A agent card URL. Register it: agent-comm register ${agent} -c … -d … --a2a-url https://host/.well-known/agent-card.json`,
        { exit: ExitCode.USAGE },
      )
    }
    return url
  }

  protected override runsUntilStopped(): boolean {
    return true
  }

  protected override streamsJsonLines(): boolean {
    return !this.flags.once && !this.flags.check
  }

  async run(): Promise<BridgeRunResult | BridgeCheckResult | undefined> {
    const { args, flags } = this
    let argv: string[] | undefined
    if (flags.command !== undefined) {
      try {
        argv = splitCommandLine(flags.command)
      } catch (error) {
        throw new Errors.CLIError(`--command: ${(error as Error).message}`, { exit: ExitCode.USAGE })
      }
      if (argv.length === 0) throw new Errors.CLIError('--command is empty', { exit: ExitCode.USAGE })
    }
    if (flags.webhook !== undefined && !/^https?:\/\/[^/]/.test(flags.webhook)) {
      // Not repeated as given: it may carry a token.
      throw new Errors.CLIError(`--webhook must be an http(s) URL, got '${redactUrl(flags.webhook)}'`, {
        exit: ExitCode.USAGE,
      })
    }
    const bridge = await buildBridge(
      flags.a2a
        ? {
            a2aCardUrl: await this.#a2aCardUrl(args.agent),
            agent: args.agent,
            conversation: async (id: string) => (await this.coordinator()).conversation(id),
          }
        : argv === undefined
          ? { webhook: flags.webhook! }
          : { argv, passEnv: flags['pass-env'] },
      {
        healthTimeoutMs:
          flags['health-timeout'] === undefined ? undefined : Math.ceil(flags['health-timeout'] * 1000),
      },
    )
    if (flags.check) {
      if (!this.jsonEnabled()) process.stderr.write(`Checking ${bridge.name} (Ctrl-C to stop)...\n`)
      // Ctrl-C ends a health check that hangs at once, not after its own time limit.
      const stop = this.stopSignal()
      const { available, reason, hint } = bridge.checkAvailability
        ? await bridge.checkAvailability(stop)
        : { available: await bridge.isAvailable(stop), reason: undefined, hint: undefined }
      if (stop.aborted) {
        throw new CommandFailure(
          'STOPPED',
          `The check of ${bridge.name} was stopped by ${String(stop.reason)}`,
        )
      }
      if (!this.jsonEnabled()) {
        this.log(`${bridge.name}: ${available ? 'reachable' : 'NOT reachable'}`)
        if (!available)
          process.stderr.write(
            notReachableAdvice(reason, hint, flags.a2a ? 'a2a' : argv === undefined ? 'webhook' : 'command'),
          )
      }
      if (!available) {
        if (this.jsonEnabled()) {
          this.logJson({
            agent: args.agent,
            bridge: bridge.name,
            available,
            ...(reason === undefined ? {} : { reason }),
            ...(hint === undefined ? {} : { hint }),
          })
        }
        this.exit(ExitCode.FAILURE)
      }
      return { agent: args.agent, bridge: bridge.name, available }
    }
    const { BridgeRunner } = await (await this.runtime()).loadBridges()
    const coordinator = await this.coordinator()
    const json = this.jsonEnabled()
    const runner = new BridgeRunner({
      coordinator,
      agent: args.agent,
      bridge,
      maxMessages: flags['max-messages'],
      concurrency: flags.concurrency,
      timeoutMs: flags.timeout === undefined ? undefined : Math.ceil(flags.timeout * 1000),
      intervalMs: flags.interval === undefined ? undefined : Math.round(flags.interval * 1000),
      // The default lease of every command (AGENT_COMM_LEASE_SECONDS), as poll and extend take it.
      leaseSeconds: flags['lease-seconds'] ?? (await this.coordinatorConfig()).leaseSeconds,
      onEvent: (event) =>
        json && !flags.once ? this.logJsonLine(event) : process.stderr.write(describeEvent(event)),
    })
    if (!flags.once && !json)
      process.stderr.write(`Bridging ${args.agent} to ${bridge.name} (Ctrl-C to stop)...\n`)
    const summary = await runner.run({ signal: this.stopSignal(), once: flags.once })
    const result = { agent: args.agent, bridge: bridge.name, ...summary }
    if (json && !flags.once) {
      // The last line of the NDJSON stream, not an indented document after it.
      this.logJsonLine({ type: 'stopped', ...result } satisfies BridgeStoppedLine)
      return undefined
    }
    if (!json)
      this.log(`${summary.processed} processed, ${summary.succeeded} succeeded, ${summary.failed} failed`)
    if (flags.once && summary.failed > 0) {
      if (json) this.logJson(result)
      process.stderr.write(
        `Error: ${summary.failed} message(s) failed; see them with: agent-comm status <id>, agent-comm failed\n`,
      )
      this.exit(ExitCode.FAILURE)
    }
    return result
  }
}

/** The part of a profile's metadata that names an external A2A agent's card. */
function cardUrlOf(metadata: Record<string, unknown>): string | undefined {
  const a2a = metadata.a2a
  if (typeof a2a !== 'object' || a2a === null) return undefined
  const url = (a2a as { url?: unknown }).url
  return typeof url === 'string' && /^https?:\/\/[^/]/.test(url) ? url : undefined
}

/**
 * One progress line per event. Reasons come from the bridged program (its stderr), the webhook or the
 * remote agent, which may echo hostile message text: they are shown escaped, on one line.
 */
function describeEvent(event: BridgeEvent): string {
  switch (event.type) {
    case 'received':
      return `received  ${event.messageId} (attempt ${event.attempt})\n`
    case 'forwarded':
      return `forwarded ${event.messageId} ${event.success ? 'ok' : `FAILED: ${safeLine(event.error ?? 'no reason')}`} (${event.durationMs} ms)\n`
    case 'replied':
      return `replied   ${event.messageId} -> ${event.replyId}\n`
    case 'acked':
      return `acked     ${event.messageId} (${event.durationMs} ms)\n`
    case 'nacked':
      return `nacked    ${event.messageId}${event.deadLettered ? ' (dead-lettered)' : ''}: ${safeLine(event.reason)}\n`
    case 'error':
      return `warning   ${event.messageId}: ${safeLine(event.error)}\n`
    case 'unavailable':
      return `warning   ${safeLine(event.error)} (polling again in ${event.retryInMs} ms)\n`
  }
}

/**
 * Why a checked bridge is not reachable and what to do about it, for stderr: the bridge's own hint when it
 * has one (an A2A card refusing the token), else the usual advice for its kind.
 */
function notReachableAdvice(
  reason: string | undefined,
  hint: string | undefined,
  kind: 'command' | 'webhook' | 'a2a',
): string {
  const why = reason === undefined ? '' : `  Why: ${safeLine(reason)}\n`
  if (hint !== undefined) return `${why}  Next: ${safeLine(hint)}\n`
  const next = {
    command:
      'install the program or give its full path to --command, and make sure it exits 0 when run with --health',
    webhook: 'start the webhook or fix the URL given to --webhook: it must answer a GET with a 2xx status',
    a2a: "check that the agent's A2A card URL (register --a2a-url) answers and its token is set",
  }[kind]
  return `${why}  Next: ${next}.\n`
}
