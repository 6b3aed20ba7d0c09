import { Flags } from '@oclif/core'
import { agentArg, BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import { claimLimitFlag, leaseSecondsFlag, MAX_WAIT_SECONDS, secondsFlag } from '../flags.js'
import { messageBlock, pollText } from '../format.js'
import type { PollResult } from '../json-output.js'

/** `agent-comm poll`: claims an agent's messages, once, after a wait, or continuously (`--follow`). */
export default class Poll extends BaseCommand<typeof Poll> {
  static override summary = 'Claim the messages waiting for an agent and print them.'
  static override description =
    `Each message is leased to the agent: ack it when handled, nack it to retry. A message not acked before its lease runs out is delivered again. Most urgent first, then oldest.

--wait S waits up to S seconds for a first message when none is waiting, and returns as soon as one arrives (from any process).

--follow keeps claiming and printing messages as they arrive until interrupted (Ctrl-C, SIGTERM). With --json it prints one JSON document per line (NDJSON), each {"message": …, "lease": …}, instead of a single document.`
  static override examples = examples`
    agent-b
    builder --limit 5 --lease-seconds 300
    builder --wait 30 --json
    builder --follow --json | while read -r line; do echo "$line" | jq .message.subject; done
  `
  static override args = { agent: agentArg('agent id to claim messages for') }
  static override flags = {
    limit: claimLimitFlag('claim at most this many messages'),
    'lease-seconds': leaseSecondsFlag('lease length'),
    wait: secondsFlag({
      description: `wait up to this many seconds for a first message (max ${MAX_WAIT_SECONDS})`,
      max: MAX_WAIT_SECONDS,
    }),
    follow: Flags.boolean({
      char: 'f',
      description: 'stream messages as they arrive until interrupted; with --json, NDJSON',
      exclusive: ['wait'],
    }),
  }

  protected override runsUntilStopped(): boolean {
    return this.flags.follow || this.flags.wait !== undefined
  }

  protected override streamsJsonLines(): boolean {
    return this.flags.follow
  }

  async run(): Promise<PollResult | undefined> {
    const { args, flags } = this
    const coordinator = await this.coordinator()
    const claim = { leaseSeconds: flags['lease-seconds'], limit: flags.limit }
    if (flags.follow) {
      await this.#follow(args.agent, claim)
      return undefined
    }
    let messages = await coordinator.poll(args.agent, claim)
    if (messages.length === 0 && flags.wait !== undefined && flags.wait > 0) {
      if (!this.jsonEnabled())
        process.stderr.write(`Waiting up to ${flags.wait}s for messages for ${args.agent}...\n`)
      messages = await coordinator.poll(args.agent, {
        ...claim,
        waitMs: Math.round(flags.wait * 1000),
        signal: this.stopSignal(),
      })
    }
    this.log(pollText(args.agent, messages))
    return { agent: args.agent, count: messages.length, messages }
  }

  /**
   * Prints messages as they arrive until SIGINT or SIGTERM; unprinted claims are handed back. A database
   * that is unavailable for now (a lost or refused connection, a full disk, a lock) is waited out: logged,
   * then the loop starts again after a backoff, since a long-running consumer must outlive a network blip
   * or a failover. Any other failure ends it.
   */
  async #follow(agent: string, options: { limit?: number; leaseSeconds?: number }): Promise<void> {
    const coordinator = await this.coordinator()
    const logger = await this.logger()
    const { isTransientStorageError } = await this.runtime()
    const signal = this.stopSignal()
    const json = this.jsonEnabled()
    if (!json) process.stderr.write(`Following messages for ${agent} (Ctrl-C to stop)...\n`)
    let failures = 0
    while (!signal.aborted) {
      try {
        for await (const claimed of coordinator.messages(agent, { ...options, signal })) {
          failures = 0
          if (json) this.logJsonLine(claimed)
          else this.log(`${messageBlock(claimed)}\n`)
        }
        return
      } catch (error) {
        if (signal.aborted || !isTransientStorageError(error)) throw error
        const delayMs = followRetryDelayMs(failures++)
        logger.warn(
          { agent, error: error.message, retryInMs: delayMs },
          'poll --follow: the database is unavailable for now; retrying',
        )
        await abortableDelay(delayMs, signal)
      }
    }
  }
}

/** Backoff of a `--follow` loop after its `failures`-th failure in a row: 250 ms doubling, at most 10 s. */
export function followRetryDelayMs(failures: number): number {
  return Math.min(250 * 2 ** failures, 10_000)
}

/** Resolves after `ms`, or at once when `signal` aborts (the loop then ends). */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
