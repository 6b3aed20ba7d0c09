/**
 * Splits a command line written by the user (`--command "node agent.js --fast"`) into argv words the way
 * a POSIX shell would for quoting — single quotes, double quotes, backslash escapes — but expands nothing:
 * no variables, globs, command substitution, pipes or redirections. The words go straight to spawn, so
 * nothing a message contains ever meets a shell.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: "'" | '"' | undefined
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!
    if (quote === "'") {
      if (ch === "'") quote = undefined
      else word += ch
      continue
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined
      else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) word += line[++i]
      else word += ch
      continue
    }
    if (ch === "'" || ch === '"') {
      quote = ch
      inWord = true
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += ch
      inWord = true
    }
  }
  if (quote !== undefined) throw new SyntaxError(`unclosed ${quote} quote in the command`)
  if (inWord) words.push(word)
  return words
}

/** The global flags without a value, which may be written before the command as well as after it. */
const BOOLEAN_GLOBALS = new Set(['--json', '--create', '--allow-foreign-tables'])

/**
 * Moves the global flags written before the command (`agent-comm --db x.db --json agents`; also
 * `--create` and `--allow-foreign-tables`) to after it
 * (`agent-comm agents --db x.db --json`), where oclif parses them. `topics` are the words that take a
 * command after them (`relay start`). Anything else before the command — `--help`, `--version`, an
 * unknown flag — leaves the line as it is, for oclif to answer. `help <command>` becomes `<command> --help`
 * (the global flags dropped; an unknown `<command>` — not in `commands` — is left without --help for the
 * did-you-mean hook), and global flags alone become an empty line: the commands' overview.
 */
export function hoistGlobalFlags(
  argv: readonly string[],
  topics: ReadonlySet<string>,
  commands?: ReadonlySet<string>,
): string[] {
  const globals: string[] = []
  let i = 0
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const word = argv[i]!
    if (BOOLEAN_GLOBALS.has(word) || word.startsWith('--db=')) globals.push(word)
    else if (word === '--db' && i + 1 < argv.length) globals.push(word, argv[++i]!)
    else return [...argv]
  }
  const rest = argv.slice(i)
  // `help <command>` needs no database and takes no --json: it is asked as `<command> --help`, so a
  // mistyped command meets the did-you-mean hook like any other.
  if (rest[0] === 'help') {
    if (rest.length === 1 || rest[1]!.startsWith('-')) return rest
    const words = rest.slice(1).filter((word) => !word.startsWith('-'))
    const id = topics.has(words[0]!) && words.length > 1 ? `${words[0]}:${words[1]}` : words[0]!
    // An unknown command without --help, so the command_not_found hook answers it ("Did you mean …?").
    if (commands !== undefined && !commands.has(id) && !topics.has(id)) return rest.slice(1)
    return [...rest.slice(1), '--help']
  }
  if (globals.length === 0) return [...argv]
  // Only global flags (`agent-comm --db x.db`): no command yet, so the commands' overview.
  if (rest.length === 0) return []
  let end = i + 1
  if (topics.has(argv[i]!) && end < argv.length && !argv[end]!.startsWith('-')) end++
  return [...argv.slice(i, end), ...globals, ...argv.slice(end)]
}
