import { Errors, type Hook } from '@oclif/core'
import { closestWord } from '../closest.js'
import { type ErrorReport, ExitCode, errorJson, formatErrorText } from '../errors.js'

/**
 * oclif's `command_not_found` hook: `agent-comm sned …` says what was typed, suggests the closest command
 * ("Did you mean 'send'?") and exits 2, as any usage error. It never asks and never runs the suggestion
 * (@oclif/plugin-not-found prompts on a terminal and runs it, and suggests nothing to a script): a
 * mistyped `send` must not send after a stray "y".
 */
const hook: Hook.CommandNotFound = async (options) => {
  const ids = options.config.commands
    .filter((command) => !command.hidden)
    .flatMap((command) => [command.id, ...command.aliases])
  // With a space as separator oclif joins every word into the id (`sned:a:b:hi`): the command typed is
  // the first word, or the first two when the first is a topic (`relay strat`).
  const words = options.id.split(':')
  const attempted = words.slice(0, options.config.findTopic(words[0]!) ? 2 : 1).join(':')
  // The longest run of leading words that names a command: the words after it are arguments it does not take.
  const found = words.findLastIndex(
    (_, i) => i < words.length - 1 && ids.includes(words.slice(0, i + 1).join(':')),
  )
  const report =
    found >= 0
      ? (mistypedSubcommand(words.slice(0, found + 2).join(':'), ids) ??
        unexpectedArguments(words.slice(0, found + 1).join(':'), words.slice(found + 1)))
      : notACommand(attempted, closestWord(attempted, ids))
  if (options.argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify(errorJson(report), null, 2)}\n`)
  } else process.stderr.write(formatErrorText(report))
  throw new Errors.ExitError(report.exitCode)
}

export default hook

/**
 * A command that is also a topic (`mcp`, with `mcp install` and `mcp doctor`) followed by a mistyped
 * subcommand (`mcp instal`, typed as `mcp:instal`): the report of a mistyped command when the word is near
 * one of its subcommands ("Did you mean 'mcp install'?"), else undefined (the word is an argument then).
 */
function mistypedSubcommand(typed: string, ids: readonly string[]): ErrorReport | undefined {
  const command = typed.slice(0, typed.lastIndexOf(':'))
  const suggestion = closestWord(
    typed,
    ids.filter((id) => id.startsWith(`${command}:`)),
  )
  return suggestion === undefined ? undefined : notACommand(typed, suggestion)
}

/**
 * `attempted` is not a command: said with the closest one, if any, and the help that lists where it was
 * looked for — the topic's (`agent-comm relay --help` for `relay sned`), or every command's.
 */
function notACommand(attempted: string, suggestion: string | undefined): ErrorReport {
  const topic = attempted.includes(':') ? attempted.slice(0, attempted.lastIndexOf(':')) : undefined
  return {
    code: 'VALIDATION',
    message: `'${attempted.replaceAll(':', ' ')}' is not an agent-comm command.${suggestion === undefined ? '' : ` Did you mean '${suggestion.replaceAll(':', ' ')}'?`}`,
    hint: `See the commands: agent-comm ${topic === undefined ? '' : `${topic.replaceAll(':', ' ')} `}--help`,
    exitCode: ExitCode.USAGE,
  }
}

/**
 * A command that takes no arguments given some (`mcp install claude-code`, `agents extra`): oclif joins the
 * words into the id and finds no command, but the command exists — the words after it are what is wrong.
 * Said as oclif says it of a command that takes fewer arguments than given.
 */
function unexpectedArguments(command: string, extra: readonly string[]): ErrorReport {
  return {
    code: 'VALIDATION',
    message: `Unexpected argument${extra.length === 1 ? '' : 's'}: ${extra.join(', ')}`,
    hint: `See the usage: agent-comm ${command.replaceAll(':', ' ')} --help`,
    exitCode: ExitCode.USAGE,
  }
}
