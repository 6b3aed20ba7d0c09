// `agent-comm send` without oclif: loading oclif, its configuration and its plugins costs about as much as
// the send itself, and `send` is what scripts and agents run most. bin/run.js hands the command line here
// first; a line this parser takes exactly as oclif would (plain string and boolean flags, the arguments
// given, nothing oclif would refuse) is sent from here, with oclif's output and our error reporting. Any
// other line — --help, a flag with a parser of its own, anything oclif would answer with an error — and any
// run asking for debug output or OTLP export returns false untouched and goes to oclif, so help and usage
// errors stay oclif's own. The parser reads the flag definitions from oclif.manifest.json, which oclif
// writes from the command class.
import type { Coordinator } from '@agent-comm/coordinator'
import { type CommandContext, debugEnabled, loadRuntime, openContext } from './context.js'
import { describeError, errorJson, formatErrorText } from './errors.js'
import { reportInFlagTerms } from './flag-errors.js'
import {
  MESSAGE_FIELD_FLAGS,
  type SendArgs,
  type SendFlags,
  type SendResult,
  sendMessage,
} from './send-message.js'

/** A flag of a command in oclif.manifest.json, as far as the fast path reads it. */
export interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  options?: string[]
  default?: unknown
  multiple?: boolean
  allowNo?: boolean
  exclusive?: string[]
  [other: string]: unknown
}

/** A command of oclif.manifest.json, as far as the fast path reads it. */
export interface ManifestCommand {
  args: Record<string, { name: string; required?: boolean; options?: string[]; default?: unknown }>
  flags: Record<string, ManifestFlag>
  strict?: boolean
}

/** A command line parsed as oclif would parse it. */
export interface ParsedLine {
  args: Record<string, string>
  flags: Record<string, string | boolean>
}

/**
 * Flag properties whose meaning the parser does not reproduce: a flag set with any of them sends the line
 * to oclif. (`exclusive` is checked here; the rest are oclif's relationships and value sources.)
 */
const UNHANDLED_PROPERTIES = [
  'dependsOn',
  'exactlyOne',
  'relationships',
  'env',
  'allowStdin',
  'aliases',
  'charAliases',
]

/**
 * `argv` (the words after the command) parsed with the manifest's definitions of `command`, or undefined
 * when oclif must parse it. `plain` names the flags oclif takes as they are written: a flag with a parser
 * of its own (flags.ts) is not in the manifest as such, so it must be left out of `plain`, and a line
 * using it goes to oclif. Only lines oclif accepts are parsed, to the same args and flags (defaults
 * included); the parser never reports an error itself.
 */
export function parsePlainLine(
  argv: readonly string[],
  command: ManifestCommand,
  plain: ReadonlySet<string>,
): ParsedLine | undefined {
  const flags: Record<string, string | boolean> = {}
  const positionals: string[] = []
  const definition = (name: string): ManifestFlag | undefined => {
    const flag = command.flags[name]
    if (flag === undefined || !plain.has(name) || flag.multiple === true) return undefined
    return UNHANDLED_PROPERTIES.some((key) => flag[key] !== undefined) ? undefined : flag
  }
  // A value oclif takes as it is: not empty, and not a word that could be read as a flag.
  const usable = (value: string | undefined): value is string =>
    value !== undefined && value !== '' && (value === '-' || !value.startsWith('-'))
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (word === '-' || !word.startsWith('-')) {
      positionals.push(word)
      continue
    }
    let flag: ManifestFlag | undefined
    let value: string | undefined
    if (word.startsWith('--')) {
      const equals = word.indexOf('=')
      flag = definition(equals === -1 ? word.slice(2) : word.slice(2, equals))
      if (flag === undefined) return undefined
      if (equals !== -1) {
        if (flag.type !== 'option') return undefined
        value = word.slice(equals + 1)
        if (!usable(value)) return undefined
      }
    } else {
      // `-s`, never bundled short flags (`-qs`) nor a value stuck to the letter (`-sHello`).
      if (word.length !== 2) return undefined
      const name = Object.keys(command.flags).find((key) => command.flags[key]!.char === word[1])
      flag = name === undefined ? undefined : definition(name)
      if (flag === undefined) return undefined
    }
    if (flag.name in flags) return undefined
    if (flag.type === 'boolean') {
      flags[flag.name] = true
      continue
    }
    if (value === undefined) {
      value = argv[++i]
      if (!usable(value)) return undefined
    }
    if (flag.options !== undefined && !flag.options.includes(value)) return undefined
    flags[flag.name] = value
  }
  for (const name of Object.keys(flags)) {
    if (command.flags[name]!.exclusive?.some((other) => other in flags)) return undefined
  }
  for (const [name, flag] of Object.entries(command.flags)) {
    if (name in flags || flag.default === undefined) continue
    // A default a flag's own parser would turn into something else is oclif's to apply.
    if (!plain.has(name) || typeof flag.default !== 'string') return undefined
    flags[name] = flag.default
  }
  const names = Object.keys(command.args)
  if (positionals.length > names.length && command.strict !== false) return undefined
  const args: Record<string, string> = {}
  for (const [index, name] of names.entries()) {
    const arg = command.args[name]!
    const value = positionals[index]
    if (arg.default !== undefined) return undefined
    if (value === undefined) {
      if (arg.required === true) return undefined
      continue
    }
    if (arg.options !== undefined && !arg.options.includes(value)) return undefined
    args[name] = value
  }
  return { args, flags }
}

/** `send`'s flags taken as written: all but those with a parser of their own (flags.ts). */
const SEND_PLAIN_FLAGS: ReadonlySet<string> = new Set([
  'json',
  'db',
  'create',
  'allow-foreign-tables',
  'body-file',
  'subject',
  'priority',
  'payload-type',
  'reply-to',
  'conversation',
  'allow-unregistered',
  'queue',
  'idempotency-key',
  'quiet',
])

/**
 * Runs `agent-comm send <argv>` when the line is a plain one (see the top of this file): true when it did
 * (the exit code is in process.exitCode), false when oclif must run it. `command` is send's entry of
 * oclif.manifest.json.
 */
export async function runSendFastPath(
  argv: readonly string[],
  command: ManifestCommand,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  // Debug output (AGENT_COMM_LOG_LEVEL=debug: the setup and stacks; DEBUG, AGENT_COMM_DEBUG: oclif's own)
  // and oclif's JSON switch are the command class's to give.
  if (debugEnabled() || env.DEBUG !== undefined || env.AGENT_COMM_DEBUG !== undefined) return false
  if (env.AGENT_COMM_CONTENT_TYPE !== undefined) return false
  // OTLP trace export (any OTEL_* variable) is started and flushed by the command class (BaseCommand).
  if (Object.keys(env).some((name) => name.startsWith('OTEL_'))) return false
  const line = parsePlainLine(argv, command, SEND_PLAIN_FLAGS)
  if (line === undefined) return false
  const args = line.args as unknown as SendArgs
  const flags = line.flags as unknown as SendFlags & { json?: boolean; db?: string; create?: boolean }
  // Neither or both of <body> and --body-file: the command's usage error, as oclif reports it.
  if ((args.body === undefined) === (flags['body-file'] === undefined)) return false
  const json = line.flags.json === true
  // zod compiles a parser for each object schema (new Function) on its first parse, and probes once whether
  // it may: work that pays off in a long-running process, not in one send (about 7 ms of its CPU time).
  // Set before the library is loaded, since zod reads it as it builds the schemas; an unknown setting to
  // a zod that no longer reads it.
  const zod = globalThis as { __zod_globalConfig?: { jitless?: boolean } }
  zod.__zod_globalConfig = { ...zod.__zod_globalConfig, jitless: true }
  let context: CommandContext | undefined
  let result: SendResult | undefined
  try {
    result = await sendMessage(args, flags, {
      runtime: loadRuntime,
      coordinator: async (): Promise<Coordinator> => {
        // As the command class opens it (BaseCommand.contextOptions with Send's actingAgentArg).
        context ??= await openContext({
          db: flags.db,
          create: flags.create === true,
          allowForeignTables: line.flags['allow-foreign-tables'] === true,
          readsOnly: false,
          actingAgent: args.from,
        })
        return context.coordinator
      },
      log: (text) => {
        if (!json) process.stdout.write(`${text}\n`)
      },
    })
  } catch (error) {
    // As BaseCommand.catch reports it.
    const isOclifError = typeof (error as { oclif?: unknown }).oclif === 'object'
    const runtime = isOclifError ? undefined : await loadRuntime().catch(() => undefined)
    const report = reportInFlagTerms(
      describeError(error, runtime?.isAgentCommError ?? ((_: unknown): _ is never => false), 'send'),
      error,
      MESSAGE_FIELD_FLAGS,
    )
    if (json) process.stdout.write(`${JSON.stringify(errorJson(report), null, 2)}\n`)
    else process.stderr.write(formatErrorText(report))
    process.exitCode = report.exitCode
  } finally {
    try {
      await context?.close()
    } catch (closeError) {
      process.stderr.write(`Warning: closing the database failed: ${(closeError as Error).message}\n`)
    }
  }
  if (result !== undefined && json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  return true
}
