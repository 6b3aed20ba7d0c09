// The README holds to the code: its command table names every command and each of its flags (and no
// flag a command lacks), its environment table every AGENT_COMM_* variable the CLI reads, and every
// `agent-comm <command> --flag` written in a README or in a hint of the source names a command and a flag
// that exist. Each test fails when one side changes without the other.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const cliRoot = fileURLToPath(new URL('..', import.meta.url))
const repoRoot = join(cliRoot, '..', '..')
const readme = readFileSync(join(cliRoot, 'README.md'), 'utf8')

interface ManifestFlag {
  char?: string
  hidden?: boolean
  allowNo?: boolean
}
interface ManifestCommand {
  hidden?: boolean
  flags: Record<string, ManifestFlag>
  examples?: (string | { command: string })[]
}
const manifest = JSON.parse(readFileSync(join(cliRoot, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, ManifestCommand>
}
/** The commands by the words a user types (`relay gen-secret`), hidden ones left out. */
const commands = new Map(
  Object.entries(manifest.commands)
    .filter(([, command]) => command.hidden !== true)
    .map(([id, command]) => [id.replaceAll(':', ' '), command]),
)
/** The flags every database command shares (base-command.ts), described once above the table. */
const GLOBAL_FLAGS = ['json', 'db', 'create', 'allow-foreign-tables']

/** The markdown table whose header row starts with `| <first> |`, as rows of cells. */
function table(text: string, first: string): string[][] {
  const lines = text.split('\n')
  const start = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line))
  expect(start, `a table headed "${first}"`).toBeGreaterThanOrEqual(0)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
  }
  return rows
}

/** The command a usage line such as `relay gen-secret <agent> [--rotate]` is about: its longest known prefix. */
function commandOf(usage: string): string | undefined {
  const words = usage.split(/\s+/)
  for (let n = Math.min(words.length, 3); n > 0; n--) {
    const id = words.slice(0, n).join(' ')
    if (commands.has(id)) return id
  }
  return undefined
}

/** Whether `name` (without dashes) is a flag of the command, `--no-x` of an allowNo flag included. */
function hasFlag(command: ManifestCommand, name: string): boolean {
  if (name === 'help') return true
  if (name in command.flags) return command.flags[name]?.hidden !== true
  return name.startsWith('no-') && command.flags[name.slice(3)]?.allowNo === true
}

describe("the README's command table", () => {
  const rows = table(readme, 'command').map(([usageCell = '']) => {
    const usages = [...usageCell.matchAll(/`([^`]+)`/g)].map((m) => (m[1] ?? '').replaceAll('\\|', '|'))
    return { usageCell, usages }
  })

  it('has a row for every command, and names no command that does not exist', () => {
    const documented = new Set<string>()
    for (const { usageCell, usages } of rows) {
      const ids = usages.map(commandOf)
      expect(ids, `a row of unknown commands: ${usageCell}`).not.toContain(undefined)
      for (const id of ids) documented.add(id as string)
    }
    expect([...commands.keys()].filter((id) => !documented.has(id))).toEqual([])
  })

  it("names each command's flags, and only flags it has", () => {
    const missing: string[] = []
    const unknown: string[] = []
    const named = new Map<string, Set<string>>()
    for (const { usages } of rows) {
      for (const usage of usages) {
        const id = commandOf(usage) as string
        const command = commands.get(id) as ManifestCommand
        const flags = named.get(id) ?? new Set<string>()
        named.set(id, flags)
        for (const [, long] of usage.matchAll(/(?:^|[\s[(|])--([a-z][a-z0-9-]*)/g)) {
          if (!hasFlag(command, long as string)) unknown.push(`${id} --${long}`)
          flags.add((long as string).replace(/^no-/, ''))
        }
        for (const [, char] of usage.matchAll(/(?:^|[\s[(|])-([a-zA-Z])\b/g)) {
          const flag = Object.entries(command.flags).find(([, f]) => f.char === char)
          if (flag === undefined) unknown.push(`${id} -${char}`)
          else flags.add(flag[0])
        }
      }
    }
    for (const [id, command] of commands) {
      // The database commands' globals are described once, above the table; the relay commands' --db is
      // their own (the relay's database), so it is named in their rows.
      const globals = id.startsWith('relay ') ? ['json'] : GLOBAL_FLAGS
      for (const [name, flag] of Object.entries(command.flags)) {
        if (flag.hidden === true || globals.includes(name)) continue
        if (!named.get(id)?.has(name)) missing.push(`${id} --${name}`)
      }
    }
    expect(unknown, 'flags in the table that the command does not have').toEqual([])
    expect(missing, 'flags the table does not name').toEqual([])
  })
})

/** Every source file under `dir` (tests, builds and dependencies left out). */
function sources(dir: string, pattern: RegExp): string[] {
  const found: string[] = []
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', 'test', 'bench', '.vitest'].includes(name)) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...sources(path, pattern))
    else if (pattern.test(name)) found.push(path)
  }
  return found
}

/**
 * The AGENT_COMM_* variables a piece of code reads from an environment: `env.X`, `env['X']`, or a name kept
 * in a constant and read through it (`const A2A_TOKEN_ENV = 'X'`).
 */
function variablesRead(files: readonly string[]): Set<string> {
  const read = new Set<string>()
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    for (const [, name] of text.matchAll(/env(?:\?)?(?:\.|\[['"])(AGENT_COMM_[A-Z0-9_]*[A-Z0-9])/g)) {
      read.add(name as string)
    }
    for (const [, name] of text.matchAll(/_ENV\s*=\s*['"](AGENT_COMM_[A-Z0-9_]*[A-Z0-9])['"]/g))
      read.add(name as string)
    // A key of a schema or a table of variables (`AGENT_COMM_TTL_HOURS: z.coerce…`, `…: 'what it sets'`).
    for (const [, name] of text.matchAll(/^\s+(AGENT_COMM_[A-Z0-9_]*[A-Z0-9]):\s*(?:z\.|['"`])/gm))
      read.add(name as string)
  }
  return read
}

describe("the README's environment variables", () => {
  // A row may name several (`AGENT_COMM_A2A_TOKEN_<AGENT>`, `AGENT_COMM_A2A_TOKEN`); a name ending in `_`
  // is a family (`AGENT_COMM_SECRET_<AGENT>`).
  const documented = table(readme, 'variable').flatMap(([names = '']) =>
    [...names.matchAll(/`([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] as string),
  )
  // What `agent-comm` reads: the CLI itself and the library code it composes (the coordinator's config,
  // the MCP server's options, the bridge's A2A tokens). The relay's own variables are the relay README's,
  // summed up here as AGENT_COMM_RELAY_* (apps/relay/test/readme-config.test.ts holds that table).
  const read = variablesRead([
    ...sources(join(cliRoot, 'src'), /\.ts$/),
    ...['coordinator', 'mcp', 'bridge'].flatMap((pkg) =>
      sources(join(repoRoot, 'packages', pkg, 'src'), /\.ts$/),
    ),
  ])

  it('lists every AGENT_COMM_* variable the CLI reads', () => {
    const undocumented = [...read].filter(
      (name) => !documented.includes(name) && !name.startsWith('AGENT_COMM_RELAY_') && !/_$/.test(name),
    )
    expect(undocumented).toEqual([])
  })

  it('lists no AGENT_COMM_* variable that nothing reads', () => {
    const unread = documented.filter(
      (name) =>
        name.startsWith('AGENT_COMM_') &&
        !name.endsWith('_') &&
        !name.startsWith('AGENT_COMM_RELAY_') &&
        !read.has(name),
    )
    expect(unread).toEqual([])
  })
})

describe('commands named in READMEs and hints', () => {
  const files = [
    join(repoRoot, 'README.md'),
    ...sources(join(repoRoot, 'packages'), /^README\.md$|\.ts$/),
    ...sources(join(repoRoot, 'apps'), /^README\.md$|\.ts$/),
  ]

  it('name flags that the command has', () => {
    const wrong: string[] = []
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      // `agent-comm <command>` and what follows on its line, up to where a shell or the prose moves on.
      for (const match of text.matchAll(/agent-comm ([a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)?)([^`'"\n|;)]*)/g)) {
        const id = commandOf(match[1] as string)
        if (id === undefined) continue
        const command = commands.get(id) as ManifestCommand
        for (const [, name] of (match[2] as string).matchAll(/(?:^|\s)--([a-z][a-z0-9-]*)/g)) {
          // A mistyped flag shown on purpose, with the error it gets, is no drift.
          if (text.includes(`Nonexistent flag: --${name}`)) continue
          if (!hasFlag(command, name as string))
            wrong.push(`${file.slice(repoRoot.length + 1)}: ${match[0].trim()}`)
        }
      }
    }
    expect(wrong).toEqual([])
  })
})

describe("the commands' --help examples", () => {
  it('use only flags the command has', () => {
    const wrong: string[] = []
    for (const [id, command] of commands) {
      for (const example of command.examples ?? []) {
        const line = (typeof example === 'string' ? example : example.command)
          .replaceAll('<%= config.bin %>', 'agent-comm')
          .replaceAll('<%= command.id %>', id)
        // Each `agent-comm …` of the line (pipelines and $(…) hold others), up to a comment or a pipe.
        for (const match of line.matchAll(/agent-comm ([a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)?)([^|#;)&]*)/g)) {
          const named = commandOf(match[1] as string)
          if (named === undefined) {
            wrong.push(`${id}: ${match[0]} (no such command)`)
            continue
          }
          // A quoted argument (`--command "python3 agent.py --model small"`) holds no flag of ours.
          const args = (match[2] as string).replaceAll(/"[^"]*"|'[^']*'/g, '""')
          for (const [, flag] of args.matchAll(/(?:^|\s)--([a-z][a-z0-9-]*)/g)) {
            if (!hasFlag(commands.get(named) as ManifestCommand, flag as string))
              wrong.push(`${id}: ${match[0]}`)
          }
        }
      }
    }
    expect(wrong).toEqual([])
  })
})

describe("the README's exit codes", () => {
  it('map each error code to the exit code the CLI gives it, and name every code of the protocol', async () => {
    const { ErrorCode } = await import('@agent-comm/protocol')
    const { exitCodeFor } = await import('../src/errors.js')
    const named = new Set<string>()
    for (const [exit = '', when = '', codes = ''] of table(readme, 'exit code')) {
      for (const [, code] of codes.matchAll(/`([A-Z_]+)`/g)) {
        named.add(code as string)
        // ABORTED is a stop by a signal: 130 or 143, from the signal, not from the code.
        if (exit.includes(',')) continue
        expect(exitCodeFor(code as string), `${code} (${when.slice(0, 40)}…)`).toBe(Number(exit))
      }
    }
    expect(Object.values(ErrorCode).filter((code) => !named.has(code))).toEqual([])
  })
})

describe('the commands that only read', () => {
  it('are the ones the README and the read-only hint list', () => {
    const folder = join(cliRoot, 'src', 'commands')
    const readers = sources(folder, /\.ts$/)
      .filter((file) => /readonly readsOnly = true/.test(readFileSync(file, 'utf8')))
      .map((file) =>
        file
          .slice(folder.length + 1)
          .replace(/\.ts$/, '')
          .replaceAll('/', ' '),
      )
      .sort()
    expect(readers.length).toBeGreaterThan(3)
    const listed = (text: string) =>
      [...text.matchAll(/Commands that only read \(([^)]*)\)/g)].map((m) =>
        (m[1] as string)
          .split(/,\s*/)
          .map((name) => name.replaceAll('`', ''))
          .sort(),
      )
    const errors = readFileSync(join(cliRoot, 'src', 'errors.ts'), 'utf8')
    for (const list of [...listed(readme), ...listed(errors)]) expect(list).toEqual(readers)
    expect(listed(readme).length + listed(errors).length).toBeGreaterThan(1)
    // The paragraph that says which commands open a database read-only names the same.
    const opened = /commands that only read: ([\s\S]*?) open it read-only/.exec(readme)?.[1] ?? ''
    expect([...opened.matchAll(/`([a-z][a-z-]*)`/g)].map((m) => m[1]).sort()).toEqual(readers)
  })
})
