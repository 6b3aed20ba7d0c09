import { DEFAULT_REPLY_TIMEOUT_MS } from '@agent-comm/protocol/bounds'
import { Args, Flags } from '@oclif/core'
import { agentArg, BaseCommand } from '../base-command.js'
import { CommandFailure, describeError, hasAgentCommErrorShape, signalExitCode } from '../errors.js'
import { examples } from '../examples.js'
import { idempotencyKeyFlagValue } from '../flag-errors.js'
import { idempotencyKeyFlag, MAX_TIMEOUT_SECONDS, secondsFlag } from '../flags.js'
import type { RequestResult } from '../json-output.js'
import { safeBlock } from '../terminal-text.js'

/** `agent-comm request`: sends a message and waits for its reply. */
export default class RequestCommand extends BaseCommand<typeof RequestCommand> {
  /** A relay is asked as the requester. */
  protected override readonly actingAgentArg = 'from'

  static override summary = 'Send a request and print the reply when it comes.'
  static override description =
    `Sends <body> from <from> to <to> and waits (--wait, default ${DEFAULT_REPLY_TIMEOUT_MS / 1000} seconds) for the reply: the first message to <from> that answers it (replyTo). Only that reply is taken from <from>'s inbox, and it is acknowledged; other messages stay. A bridged agent (agent-comm bridge) answers with a reply, so this returns its answer.

Prints the reply's body (--json: {requestId, reply}). When no reply comes in time it exits with code 5 (TIMEOUT) and the error names the request id: the request stays delivered, and a later reply stays in <from>'s inbox (agent-comm poll <from> shows it). Stopped while it waits (Ctrl-C, SIGTERM), it names the request the same way and exits with 130 or 143.`
  static override examples = examples`
    architect builder "Implement JWT auth" -s "Task: Auth"
    answer=$(<%= config.bin %> <%= command.id %> architect reviewer "Is PR #456 ready?" --wait 600)
    architect builder "Summarise the diff" --json
  `
  static override args = {
    from: agentArg('requesting agent id (the reply comes to it)'),
    to: agentArg('agent that answers'),
    body: Args.string({ description: 'the request', required: true }),
  }
  protected static override fieldFlags = { subject: '--subject' }
  static override flags = {
    subject: Flags.string({ char: 's', description: 'subject line' }),
    wait: secondsFlag({
      description: `seconds to wait for the reply, at most ${MAX_TIMEOUT_SECONDS} (default ${DEFAULT_REPLY_TIMEOUT_MS / 1000}); exit code 5 when none came`,
      min: 0,
      max: MAX_TIMEOUT_SECONDS,
    }),
    'idempotency-key': idempotencyKeyFlag(
      'send the request at most once per key (24 h): a retry waits for the first request’s reply',
    ),
  }

  /** Ctrl-C or SIGTERM stops the wait, and the error still names the request that was sent. */
  protected override runsUntilStopped(): boolean {
    return true
  }

  async run(): Promise<RequestResult> {
    const { args, flags } = this
    const key = idempotencyKeyFlagValue(await this.runtime(), flags['idempotency-key'])
    const coordinator = await this.coordinator()
    const stop = this.stopSignal()
    const reply = await coordinator
      .request(
        {
          fromAgent: args.from,
          toAgent: args.to,
          body: args.body,
          subject: flags.subject,
        },
        {
          timeoutMs: flags.wait === undefined ? undefined : Math.round(flags.wait * 1000),
          idempotencyKey: key,
          signal: stop,
        },
      )
      .catch((error: unknown) => {
        throw waitEnded(error, args.from, key, stop)
      })
    const requestId = reply.routing.replyTo ?? ''
    if (!this.jsonEnabled()) this.log(safeBlock(reply.body))
    return { requestId, reply }
  }
}

/**
 * A wait that ended without the reply (TIMEOUT, stopped by a signal, or the relay still out of reach): the
 * request was sent, so the error names it (`requestId` in `--json`) and says how a CLI user waits again —
 * which depends on whether the request had an idempotency key. A signal that came before the request was
 * sent says that nothing was sent. Any other error is left as it is. A stopped command exits as a shell
 * reports a signal (130, 143).
 */
function waitEnded(error: unknown, from: string, key: string | undefined, stop: AbortSignal): unknown {
  const stoppedBy = stop.aborted ? (stop.reason as 'SIGINT' | 'SIGTERM') : undefined
  const requestId = (error as { requestId?: unknown } | null)?.requestId
  if (typeof requestId !== 'string' && stoppedBy !== undefined) {
    return new CommandFailure('ABORTED', `Stopped by ${stoppedBy} before the request was sent`, {
      hint: 'Nothing was sent; run the command again to send it.',
      exitCode: signalExitCode(stoppedBy),
    })
  }
  if (!(error instanceof Error) || typeof requestId !== 'string') return error
  const report = describeError(error, hasAgentCommErrorShape, 'request')
  const wait =
    key === undefined
      ? `Its reply, when it comes, waits in ${from}'s inbox: agent-comm poll ${from} takes it (agent-comm status ${requestId} shows the request). Running this command again would send a second request: give --idempotency-key next time to make a re-run wait for the same one. From code: coordinator.awaitReply('${requestId}'); MCP: comm_await_reply.`
      : `Run the same command again with --idempotency-key ${key}: it sends nothing new and waits again for this request's reply.`
  return new CommandFailure(report.code, report.message, {
    hint: `The request stays delivered${report.code === 'UNAVAILABLE' ? '; once the relay is back:' : '.'} ${wait}`,
    exitCode: stoppedBy === undefined ? report.exitCode : signalExitCode(stoppedBy),
    cause: error,
    requestId,
  })
}
