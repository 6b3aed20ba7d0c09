import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { startConsole } from '../context.js'
import { listenFailure } from '../errors.js'
import { examples } from '../examples.js'
import { portFlag } from '../flags.js'
import type { ConsoleResult } from '../json-output.js'
import { openBrowser } from '../open-browser.js'

/** `agent-comm console`: the human console over the local database, on 127.0.0.1. */
export default class Console extends BaseCommand<typeof Console> {
  static override summary = 'Open the human console (a web page) over the local database.'
  static override description =
    `Serves the console — inbox, approvals, agents, threads and search, dead letters, overview — and the relay's JSON API behind it on 127.0.0.1 only, over the database of --db / AGENT_COMM_DB_PATH, until Ctrl-C.

It prints a URL with a one-time login token (like a notebook server): open it in a browser on this machine. The token signs in as the operator, who sees everything; with --as <agent>, as that (human) agent, who sees its own inbox and threads. Decisions on approvals are recorded with that identity.`
  static override examples = examples`
    <%= config.bin %> <%= command.id %>
    --port 0 --json   # {"url":"http://127.0.0.1:40117/console/","baseUrl":"http://127.0.0.1:40117","loginUrl":"…"}
    --as lead --open
  `
  static override flags = {
    port: portFlag({ description: 'port on 127.0.0.1 (0: any free port)', default: 8421 }),
    open: Flags.boolean({
      description:
        'open the page in the desktop browser, when there is one ($BROWSER if set, else the desktop launcher)',
    }),
    as: Flags.string({ description: 'sign in as this agent instead of the operator' }),
  }

  protected override runsUntilStopped(): boolean {
    return true
  }

  async run(): Promise<undefined> {
    const stop = this.stopSignal()
    let running: Awaited<ReturnType<typeof startConsole>>
    try {
      running = await startConsole({
        db: this.flags.db,
        port: this.flags.port,
        as: this.flags.as,
        create: this.flags.create === true,
      })
    } catch (error) {
      throw (
        listenFailure(error, {
          what: 'console',
          host: '127.0.0.1',
          port: this.flags.port,
          retry: 'agent-comm console',
        }) ?? error
      )
    }
    if (this.jsonEnabled()) {
      this.logJsonLine({
        url: `${running.url}/console/`,
        baseUrl: running.url,
        loginUrl: running.loginUrl,
      } satisfies ConsoleResult)
    } else {
      process.stderr.write(
        `Console on ${running.url}/console/ — open this link once to sign in:\n\n    ${running.loginUrl}\n\nCtrl-C to stop.\n`,
      )
    }
    if (this.flags.open) openBrowser(running.loginUrl, { browser: process.env.BROWSER })
    if (!stop.aborted) {
      await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }))
    }
    await running.close()
    return undefined
  }
}
