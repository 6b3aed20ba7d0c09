// Where each MCP client keeps its server list and hooks, and how to merge agent-comm into them without
// touching anything else. Pure planning plus small file helpers, so tests run it against a temporary home.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { jsonParseErrorPosition } from '@agent-comm/protocol/json-parse-error'

/** The clients `agent-comm mcp install` configures. */
export const CLIENTS = ['claude-code', 'claude-desktop', 'codex', 'cursor', 'vscode', 'gemini'] as const
export type ClientName = (typeof CLIENTS)[number]
export type Scope = 'project' | 'user'

/** The server entry's name in every client's configuration. */
export const SERVER_KEY = 'agent-comm'

/** Where the configuration of `client` lives, for a home folder, a project folder and a platform. */
export interface Places {
  home: string
  cwd: string
  platform: NodeJS.Platform
  /** `%APPDATA%` on Windows. */
  appData?: string | undefined
}

/** What the server entry says. */
export interface ServerSpec {
  command: string
  args: string[]
  env: Record<string, string>
}

/** The config file of `client` at `scope`; `undefined` when the client has no such scope. */
export function configFile(client: ClientName, scope: Scope, places: Places): string | undefined {
  const { home, cwd } = places
  switch (client) {
    case 'claude-code':
      return scope === 'project' ? join(cwd, '.mcp.json') : join(home, '.claude.json')
    case 'claude-desktop': {
      if (scope === 'project') return undefined
      if (places.platform === 'darwin')
        return join(home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json')
      if (places.platform === 'win32')
        return join(
          places.appData ?? join(home, 'AppData', 'Roaming'),
          'Claude',
          'claude_desktop_config.json',
        )
      return join(home, '.config', 'Claude', 'claude_desktop_config.json')
    }
    case 'codex':
      return scope === 'project' ? join(cwd, '.codex', 'config.toml') : join(home, '.codex', 'config.toml')
    case 'cursor':
      return scope === 'project' ? join(cwd, '.cursor', 'mcp.json') : join(home, '.cursor', 'mcp.json')
    case 'vscode': {
      if (scope === 'project') return join(cwd, '.vscode', 'mcp.json')
      if (places.platform === 'darwin')
        return join(home, 'Library', 'Application Support', 'Code', 'User', 'mcp.json')
      if (places.platform === 'win32')
        return join(places.appData ?? join(home, 'AppData', 'Roaming'), 'Code', 'User', 'mcp.json')
      return join(home, '.config', 'Code', 'User', 'mcp.json')
    }
    case 'gemini':
      return scope === 'project'
        ? join(cwd, '.gemini', 'settings.json')
        : join(home, '.gemini', 'settings.json')
  }
}

/** Seconds Codex gives a server to start, and a tool call to answer (above the 50 s long-wait cap). */
export const CODEX_STARTUP_TIMEOUT_SEC = 30
export const CODEX_TOOL_TIMEOUT_SEC = 70

/** The JSON entry of `client` (all JSON clients but VS Code use `mcpServers`). */
export function jsonEntry(client: ClientName, spec: ServerSpec): Record<string, unknown> {
  const base = { command: spec.command, args: spec.args, env: spec.env }
  if (client === 'vscode') return { type: 'stdio', ...base }
  // Gemini CLI's per-server request timeout, in ms: more than one long wait.
  if (client === 'gemini') return { ...base, timeout: CODEX_TOOL_TIMEOUT_SEC * 1000 }
  if (client === 'claude-code') return { type: 'stdio', ...base }
  return base
}

function serversKey(client: ClientName): string {
  return client === 'vscode' ? 'servers' : 'mcpServers'
}

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads a JSON object file; `{}` when missing. Throws, naming the file, when it is not a JSON object. */
export function readJsonObject(file: string): Json {
  if (!existsSync(file)) return {}
  const text = readFileSync(file, 'utf8')
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    // Only the position: the parser's message can quote the text around the damage, a token in this file.
    const position = jsonParseErrorPosition(error)
    const where = position ? ` (near line ${position.line}, column ${position.column})` : ''
    throw new Error(`${file} is not valid JSON${where}; fix it or move it away, nothing was changed`)
  }
  if (!isObject(parsed)) throw new Error(`${file} does not hold a JSON object; nothing was changed`)
  return parsed
}

/** `config` with agent-comm's server entry set, every other key and server kept. */
export function mergeJsonServer(client: ClientName, config: Json, spec: ServerSpec): Json {
  const key = serversKey(client)
  const servers = isObject(config[key]) ? config[key] : {}
  return { ...config, [key]: { ...servers, [SERVER_KEY]: jsonEntry(client, spec) } }
}

/** The agent-comm server entry in a parsed JSON config, if any. */
export function jsonServer(client: ClientName, config: Json): Json | undefined {
  const servers = config[serversKey(client)]
  const entry = isObject(servers) ? servers[SERVER_KEY] : undefined
  return isObject(entry) ? entry : undefined
}

/**
 * Writes `text` to `file` atomically, creating its folder, readable by its owner only (mode 0600): the
 * entries written hold the database setting, which may be a PostgreSQL URL with its password, beside the
 * tokens of the assistant's other servers. The rename replaces an existing file's mode too. Folders it has
 * to create (`~/.agent-comm/databases`, a client's `.cursor`) are its owner's only (0700), so not even the
 * names of what they hold are listed to other users; an existing folder keeps its mode.
 */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const temporary = `${file}.agent-comm-${process.pid}.tmp`
  writeFileSync(temporary, text, { mode: 0o600 })
  // Explicitly, in case a umask or an existing temporary file left it wider.
  chmodSync(temporary, 0o600)
  renameSync(temporary, file)
}

/** The hook events agent-comm adds, with the `inbox` flags of each. */
export const HOOK_EVENTS: Record<string, string[]> = {
  SessionStart: ['--event', 'SessionStart'],
  UserPromptSubmit: ['--since-cursor', '--event', 'UserPromptSubmit'],
}

/** Where the hooks of `client` live. */
export function hooksFile(client: 'claude-code' | 'codex', scope: Scope, places: Places): string {
  if (client === 'codex')
    return scope === 'project'
      ? join(places.cwd, '.codex', 'hooks.json')
      : join(places.home, '.codex', 'hooks.json')
  return scope === 'project'
    ? join(places.cwd, '.claude', 'settings.json')
    : join(places.home, '.claude', 'settings.json')
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/**
 * Where a hook finds the database: `--db` on its command line, and variables set before the command — for a
 * PostgreSQL URL holding a password, `AGENT_COMM_DB_PATH_FILE` naming the user's 0600 file, so the password
 * is in no hooks file (often committed) and on no command line (`ps`); `AGENT_COMM_PG_SCHEMA`.
 */
export interface HookDatabase {
  db?: string | undefined
  env: Record<string, string>
}

/** The hook command line for `event`. */
export function hookCommand(
  client: 'claude-code' | 'codex',
  base: string[],
  agent: string,
  database: HookDatabase,
  event: string,
): string {
  // `inbox` comes first after the program, so bin/run.js answers it without loading oclif.
  const command = [
    ...base,
    'inbox',
    agent,
    '--new',
    '--format',
    'hook-json',
    '--client',
    client,
    ...(database.db === undefined ? [] : ['--db', database.db]),
    ...(HOOK_EVENTS[event] ?? []),
  ].map(quote)
  // Assistants run a hook's command with a POSIX shell: variables set in front of it are its alone.
  const variables = Object.entries(database.env).map(([name, value]) => `${name}=${quote(value)}`)
  return [...variables, ...command].join(' ')
}

/**
 * The program words of a hook command {@link hookCommand} wrote — Node.js and agent-comm's bin, unquoted — or
 * of any agent-comm hook command: the words after the variables set in front, up to `inbox`.
 */
export function hookProgram(command: string): string[] {
  const words: string[] = []
  let word: string | undefined
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string
    if (c === "'") {
      // A single-quoted run, as quote() writes it ('\'' closes, escapes a quote and reopens).
      const end = command.indexOf("'", i + 1)
      word = (word ?? '') + command.slice(i + 1, end === -1 ? undefined : end)
      i = end === -1 ? command.length : end
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i]
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else {
      word = (word ?? '') + c
    }
  }
  if (word !== undefined) words.push(word)
  // `NAME=value` words in front set the hook's variables; the program starts at the first other word.
  const start = words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w))
  const program = start === -1 ? [] : words.slice(start)
  const inbox = program.indexOf('inbox')
  return inbox === -1 ? program : program.slice(0, inbox)
}

/** How agent-comm's own hook commands are recognised (the agent is the first group). */
export const AGENT_COMM_HOOK = / inbox (\S+) --new --format hook-json --client /

/** `settings` with agent-comm's hooks (replacing earlier ones of agent-comm), every other hook kept. */
export function mergeHooks(settings: Json, commands: Record<string, string>): Json {
  const hooks = isObject(settings.hooks) ? { ...settings.hooks } : {}
  for (const [event, command] of Object.entries(commands)) {
    const groups = Array.isArray(hooks[event]) ? (hooks[event] as unknown[]) : []
    const others = groups
      .map((group) => {
        if (!isObject(group) || !Array.isArray(group.hooks)) return group
        const kept = group.hooks.filter(
          (hook) =>
            !(isObject(hook) && typeof hook.command === 'string' && AGENT_COMM_HOOK.test(hook.command)),
        )
        return kept.length === 0 ? undefined : { ...group, hooks: kept }
      })
      .filter((group) => group !== undefined)
    hooks[event] = [...others, { hooks: [{ type: 'command', command, timeout: 10 }] }]
  }
  return { ...settings, hooks }
}
