import { resolve } from 'node:path'
import type { Coordinator } from '@agent-comm/coordinator'
import type { Logger } from '@agent-comm/protocol'
import { type CaughtStopSignals, catchStopSignals } from '@agent-comm/protocol/stop-signals'
import { Args, Command, Errors, Flags, type Interfaces } from '@oclif/core'
import { nonexistentFlagsMessage } from './closest.js'
import {
  type CommandContext,
  type ContextOptions,
  debugEnabled,
  loadRuntime,
  openContext,
  type Runtime,
} from './context.js'
import { describeError, ExitCode, errorJson, formatErrorText } from './errors.js'
import { reportInFlagTerms } from './flag-errors.js'
import { startTracing } from './otel.js'

/** The global flags of the commands that work on the coordinator's database: all but `relay …`. */
const databaseFlags = {
  db: Flags.string({
    description:
      'SQLite database file, or PostgreSQL URL such as postgres://user:password@host:5432/agents (its schema and pool size from AGENT_COMM_PG_SCHEMA and AGENT_COMM_PG_POOL_SIZE). Precedence: this flag, then AGENT_COMM_DB_PATH, then ./data/coordination.db under AGENT_COMM_PROJECT_ROOT (default: the current folder).',
    helpGroup: 'GLOBAL',
    helpValue: '<path|url>',
  }),
  create: Flags.boolean({
    description:
      'Create the database if it does not exist (only register does so by itself; other commands refuse a missing database, so a mistyped path is an error, not an empty new database).',
    helpGroup: 'GLOBAL',
  }),
  'allow-foreign-tables': Flags.boolean({
    description:
      "Use a SQLite file that holds another application's tables, adding agent-comm's tables to it (refused otherwise).",
    helpGroup: 'GLOBAL',
  }),
}

/** Only `--db`, for a command to which --create and --allow-foreign-tables do not apply (`db copy`). */
export const dbFlagOnly = { db: databaseFlags.db }

/** The parsed flags of command `T`, global ones included (`db` is undefined where it is not offered). */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  typeof databaseFlags & T['flags']
>

/** The parsed arguments of command `T`. */
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

// The arguments several commands take, each written once: oclif's arguments are optional unless said,
// and these are always required. `description` says what the command wants of it (`agent holding its
// lease`); the help shows it beside the argument's name. (Here rather than in a module of their own: every
// command loads this one already, and each module more is start-up time.)

/** A required agent id: the agent a command acts on or as (`poll <agent>`, `send <from> <to>`). */
export function agentArg(description: string) {
  return Args.string({ description, required: true })
}

/** A required message id (`msg_…`, as send prints it). */
export function messageIdArg(description: string) {
  return Args.string({ description, required: true })
}

/**
 * `<message-id> <agent>`: one delivery, a message and the recipient it went to, that `ack`, `nack`,
 * `extend` and `reply` act on.
 */
export function deliveryArgs(message: string, agent: string) {
  return { 'message-id': messageIdArg(message), agent: agentArg(agent) }
}

/**
 * What every agent-comm command shares: the global `--db` and `--json` flags, a coordinator opened on
 * first use by the composition root (context.ts) and closed when the command ends, and the mapping of
 * errors to one `Error: …` line (plus hint) or a JSON error document, with the documented exit codes.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  /** `--db`; commands without a coordinator database (the relay's) set `{}`. */
  static override baseFlags: Interfaces.FlagInput = databaseFlags

  static override enableJsonFlag = true

  /**
   * True for a command whose `--stdin` replaces its arguments (`ack --stdin`): they are declared as the help
   * should show them (required, a variadic tail), but parsed as optional words (`positionals`), and the
   * command checks them itself without --stdin.
   */
  protected static argsReplacedByStdin = false

  /**
   * The flag that sets each field of what the command builds from its flags (`relayUrl: '--relay-url'`): a
   * `VALIDATION` error about those fields names the flags instead, as the user typed them.
   */
  protected static fieldFlags: Readonly<Record<string, string>> = {}

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  /** Every positional argument, in order: with `strict = false`, also those after the declared ones. */
  protected positionals!: string[]
  #context: CommandContext | undefined
  #stop: CaughtStopSignals | undefined
  /** OTLP export, when `OTEL_*` variables ask for it: flushed when the command ends. */
  #tracing: { url: string; shutdown(): Promise<void> } | undefined

  override async init(): Promise<void> {
    await super.init()
    const replaced = (this.ctor as typeof BaseCommand).argsReplacedByStdin
    const { args, argv, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: this.ctor.baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: withoutStdin(this.ctor.args, replaced),
      // oclif takes no variadic argument after optional ones: the variadic tail is read as the extra words.
      strict: replaced ? false : this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.positionals = argv as string[]
    if (this.runsUntilStopped()) this.#catchStopSignals()
    // Before the coordinator (or the relay) opens, so its spans are recorded from the first one.
    this.#tracing = await startTracing(process.env, this.tracingServiceName())
    if (this.#tracing !== undefined && debugEnabled())
      process.stderr.write(`[debug] exporting traces over OTLP to ${this.#tracing.url}\n`)
  }

  /** The `service.name` of this command's spans when OTLP export is on (`OTEL_SERVICE_NAME` wins). */
  protected tracingServiceName(): string {
    return 'agent-comm'
  }

  /**
   * True for a command that runs until stopped (`bridge`, `mcp`, `poll --wait`): SIGINT and SIGTERM then
   * abort {@link stopSignal} instead of killing the process, from before the database is opened.
   */
  protected runsUntilStopped(): boolean {
    return false
  }

  /**
   * Aborted (with the signal's name as reason) by the first SIGINT or SIGTERM, for commands whose
   * {@link runsUntilStopped} is true: they finish what they hold and return, exiting 0. A second signal
   * exits at once (1), for a stop that hangs.
   */
  protected stopSignal(): AbortSignal {
    if (this.#stop === undefined) throw new Error(`${this.id ?? 'this command'} does not catch stop signals`)
    return this.#stop.signal
  }

  #catchStopSignals(): void {
    this.#stop = catchStopSignals({ onSecondSignal: () => process.exit(ExitCode.FAILURE) })
    // From here a signal stops the command cleanly; said for AGENT_COMM_LOG_LEVEL=debug (and the tests).
    if (debugEnabled())
      process.stderr.write(`[debug] ${this.id ?? 'command'}: SIGINT and SIGTERM now stop it cleanly\n`)
  }

  /** True for a command that creates the database when it is missing (`register`), as --create does. */
  protected readonly createsDatabase: boolean = false

  /** True for a command that never writes: it then works on a database this user may only read. */
  protected readonly readsOnly: boolean = false

  /**
   * The argument naming the agent the command acts as (`send`'s and `request`'s `from`, `reply`'s `agent`):
   * a relay is asked about a message as that agent, with its secret (ContextOptions' `actingAgent`).
   */
  protected readonly actingAgentArg: keyof CommandArgs<T> | undefined = undefined

  /** Where the coordinator's database and project come from; the demo points them at a temporary folder. */
  protected contextOptions(): ContextOptions {
    const actingAgentArg = this.actingAgentArg
    return {
      db: this.flags.db,
      create: this.createsDatabase || this.flags.create === true,
      allowForeignTables: this.flags['allow-foreign-tables'] === true,
      readsOnly: this.readsOnly,
      ...(actingAgentArg === undefined
        ? {}
        : { actingAgent: this.args[actingAgentArg] as string | undefined }),
    }
  }

  /**
   * `--db`, else the setting kept in the file `AGENT_COMM_DB_PATH_FILE` names (the coordinator's rule,
   * `readDatabaseFile`), for commands that read the database setting themselves instead of opening the
   * coordinator (the installers, `inbox --new`); undefined when neither is given.
   */
  protected async givenDatabase(): Promise<string | undefined> {
    const db = (this.flags as { db?: string }).db
    const file = process.env.AGENT_COMM_DB_PATH_FILE?.trim()
    if (db !== undefined || file === undefined || file === '') return db
    return (await this.runtime()).readDatabaseFile(resolve(file), 'AGENT_COMM_DB_PATH_FILE')
  }

  /** The coordinator, opened on first use and closed when the command ends. */
  protected async coordinator(): Promise<Coordinator> {
    if (this.#context === undefined) {
      this.#context = await openContext(this.contextOptions())
      if (debugEnabled()) process.stderr.write(await this.#describeSetup(this.#context))
    }
    return this.#context.coordinator
  }

  /** The configuration the coordinator was opened with (its database above all); opens it first. */
  protected async coordinatorConfig(): Promise<CommandContext['config']> {
    await this.coordinator()
    return this.#context!.config
  }

  /** The logger the coordinator logs to (stderr, at AGENT_COMM_LOG_LEVEL); opens the coordinator first. */
  protected async logger(): Promise<Logger> {
    await this.coordinator()
    return this.#context!.logger
  }

  /**
   * For AGENT_COMM_LOG_LEVEL=debug: the database (and how it was opened), the project root and the
   * transports the registered agents use, in the line format of the library's debug logs, so "which file
   * did that go to?" has an answer on stderr. Names no secret: relay URLs lose their user info and query.
   */
  async #describeSetup({ coordinator, config, readOnly }: CommandContext): Promise<string> {
    const { describeAgentTransports } = await this.runtime()
    const unregistered =
      config.defaultTransport === 'file' ? `file (under ${config.fileRoot})` : 'sqlite (the database)'
    const agents = describeAgentTransports(await coordinator.discover())
    // The spool's path is its store's location: a SQLite file, or a URL without its password.
    return `[debug] database ${coordinator.storage.path} (${readOnly ? 'read-only' : 'read-write'}), project root ${config.projectRoot}; ${agents}; unregistered recipients and new agents use ${unregistered}\n`
  }

  /** Library helpers (schemas, error classes), loaded on first use. */
  protected runtime(): Promise<Runtime> {
    return loadRuntime()
  }

  /** Prints one JSON document: plain, indented JSON, so scripts and `jq` read it the same on a TTY. */
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }

  /**
   * True while the command prints an NDJSON stream with --json (`bridge --json`): an error then ends the
   * stream as one more line, never as an indented document. Only called once the flags are parsed.
   */
  protected streamsJsonLines(): boolean {
    return false
  }

  /** Prints one JSON document on one line: a record of an NDJSON stream (`poll --follow --json`). */
  protected logJsonLine(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json)}\n`)
  }

  override async catch(error: Error): Promise<void> {
    // this.exit() throws ExitError on purpose; oclif turns it into the exit code.
    if (error instanceof Errors.ExitError) throw error
    const isOclifError = typeof (error as { oclif?: unknown }).oclif === 'object'
    const runtime = isOclifError ? undefined : await loadRuntime().catch(() => undefined)
    const described = describeError(
      error,
      runtime?.isAgentCommError ?? ((_: unknown): _ is never => false),
      this.id ?? undefined,
    )
    // A mistyped flag: oclif only says it does not exist; the nearest flag of this command is suggested.
    const unknown = isOclifError ? nonexistentFlags(error) : undefined
    const report =
      unknown !== undefined
        ? { ...described, message: nonexistentFlagsMessage(unknown, this.#flagNames()) }
        : reportInFlagTerms(described, error, (this.ctor as typeof BaseCommand).fieldFlags)
    if (this.jsonEnabled()) {
      // Flags that failed to parse never reach this.flags: no stream has started, so a document it is.
      if (this.flags !== undefined && this.streamsJsonLines()) this.logJsonLine(errorJson(report))
      else this.logJson(errorJson(report))
    } else process.stderr.write(formatErrorText(report))
    if (debugEnabled()) process.stderr.write(`${describeStack(error)}\n`)
    this.exit(report.exitCode)
  }

  /** The names of this command's flags (its own, the base ones, --json) and their one-letter forms. */
  #flagNames(): string[] {
    const flags = { ...this.ctor.baseFlags, ...this.ctor.flags }
    return [
      ...Object.keys(flags),
      ...Object.values(flags).flatMap((flag) => (flag.char === undefined ? [] : [flag.char])),
      ...(this.ctor.enableJsonFlag ? ['json'] : []),
    ]
  }

  override async finally(error: Error | undefined): Promise<void> {
    this.#stop?.release()
    const context = this.#context
    this.#context = undefined
    try {
      await context?.close()
    } catch (closeError) {
      process.stderr.write(`Warning: closing the database failed: ${(closeError as Error).message}\n`)
    }
    // After the database closed: every span has ended and is sent now.
    const tracing = this.#tracing
    this.#tracing = undefined
    try {
      await tracing?.shutdown()
    } catch (exportError) {
      process.stderr.write(
        `Warning: sending the traces to ${tracing?.url} failed: ${(exportError as Error).message}\n`,
      )
    }
    await super.finally(error)
  }
}

/**
 * The arguments with oclif's stdin fallback turned off (and, for a command whose `--stdin` replaces them,
 * none required: see {@link BaseCommand.argsReplacedByStdin}). oclif reads stdin (for ~10 ms) into any argument
 * left out, which took `ack --stdin`'s input as a message id and cut `send … -`'s body to what a slow
 * producer had written by then. Commands read stdin themselves, only where they mean to (input.ts).
 */
function withoutStdin(args: Interfaces.ArgInput | undefined, optional: boolean): Interfaces.ArgInput {
  return Object.fromEntries(
    Object.entries(args ?? {}).map(([name, arg]) => [
      name,
      { ...arg, ignoreStdin: true, ...(optional ? { required: false, multiple: false } : {}) },
    ]),
  )
}

/** The stack of an error and of each cause under it, for AGENT_COMM_LOG_LEVEL=debug. */
function describeStack(error: unknown): string {
  const lines: string[] = []
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    lines.push(
      depth === 0 ? '' : 'Caused by:',
      current instanceof Error ? (current.stack ?? String(current)) : String(current),
    )
    current = current instanceof Error ? current.cause : undefined
  }
  return lines.filter((l) => l !== '').join('\n')
}

/** The flags oclif's `NonExistentFlagsError` lists (`--lese-seconds=30`, `-z`), else undefined. */
function nonexistentFlags(error: Error): string[] | undefined {
  const flags = (error as { flags?: unknown }).flags
  if (!/^Nonexistent flags?:/.test(error.message) || !Array.isArray(flags)) return undefined
  return flags.every((flag) => typeof flag === 'string') && flags.length > 0 ? flags : undefined
}
