// What `mcp install` and `hooks install` write: the plans of both commands, built from their flags and
// the places of the client's files; the commands print or apply them.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redactUrlsIn, urlPassword } from '@agent-comm/protocol/redact-url'
import {
  type ClientName,
  configFile,
  HOOK_EVENTS,
  hookCommand,
  hooksFile,
  mergeHooks,
  mergeJsonServer,
  type Places,
  readJsonObject,
  type Scope,
  type ServerSpec,
  writeFileAtomic,
} from './client-config.js'
import { enableCodexHooks, mergeCodexToml } from './codex-config.js'
import { defaultDbPath, isPostgresDatabase } from './hook-inbox.js'

/** One file a plan writes. */
export interface PlannedFile {
  path: string
  /** `create` for a new file, `update` to merge into an existing one. */
  action: 'create' | 'update'
  content: string
}

/** The folders a plan works from (the real ones unless a test says otherwise). */
export function currentPlaces(env: Record<string, string | undefined> = process.env): Places {
  return { home: env.HOME ?? homedir(), cwd: process.cwd(), platform: process.platform, appData: env.APPDATA }
}

/** How to start agent-comm from the client: this Node and this CLI, by absolute path (works from a checkout). */
export function cliCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../bin/run.js', import.meta.url))]
}

/**
 * What both install commands plan from: the real places, the database (`db` is --db) and the command that
 * starts this CLI.
 */
export function installTarget(db: string | undefined): {
  places: Places
  database: string
  schema: string | undefined
  base: string[]
} {
  const places = currentPlaces()
  const database = databaseOf(db, process.env, places.cwd)
  // The schema this user works in, kept for a PostgreSQL database: the client starts the server and the
  // hooks in its own environment, where AGENT_COMM_PG_SCHEMA may be unset (another, empty schema).
  const schema = isPostgresDatabase(database)
    ? process.env.AGENT_COMM_PG_SCHEMA?.trim() || undefined
    : undefined
  return { places, database, schema, base: cliCommand() }
}

/** The absolute database path: --db, AGENT_COMM_DB_PATH, then the project's default; a URL as it is. */
function databaseOf(db: string | undefined, env: Record<string, string | undefined>, cwd: string): string {
  const given = db ?? env.AGENT_COMM_DB_PATH
  if (given !== undefined && isPostgresDatabase(given)) return given
  return db === undefined ? defaultDbPath(env, cwd) : resolve(cwd, db)
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : ''
}

function planned(path: string, content: string): PlannedFile {
  return { path, action: existsSync(path) ? 'update' : 'create', content }
}

/**
 * How a server entry names the database: `AGENT_COMM_DB_PATH`, or — for a URL that holds a password —
 * `AGENT_COMM_DB_PATH_FILE` naming a file in the user's home that only they may read (planned here, written
 * 0600 like every planned file), so the password is in no client configuration: a project's `.mcp.json` is
 * often committed. The file is named after the URL, so installing again reuses it. A PostgreSQL `schema`
 * (AGENT_COMM_PG_SCHEMA when installing) is named beside it.
 */
export function databaseEntry(
  places: Places,
  database: string,
  schema?: string | undefined,
): { env: Record<string, string>; files: PlannedFile[] } {
  const named: Record<string, string> = schema === undefined ? {} : { AGENT_COMM_PG_SCHEMA: schema }
  if (!urlPassword(database)) return { env: { AGENT_COMM_DB_PATH: database, ...named }, files: [] }
  const name = createHash('sha256').update(database).digest('hex').slice(0, 16)
  const path = join(places.home, '.agent-comm', 'databases', `${name}.url`)
  return { env: { AGENT_COMM_DB_PATH_FILE: path, ...named }, files: [planned(path, `${database}\n`)] }
}

/** The server entry for `client`; `env` names the database (see {@link databaseEntry}). */
export function serverSpec(options: {
  base: string[]
  env: Record<string, string>
  agent?: string | undefined
  channel?: boolean | undefined
  tools?: string | undefined
}): ServerSpec {
  return {
    command: options.base[0]!,
    args: [
      ...options.base.slice(1),
      'mcp',
      ...(options.agent === undefined ? [] : ['--agent', options.agent]),
      ...(options.tools === undefined ? [] : ['--tools', options.tools]),
      ...(options.channel === true ? ['--channel'] : []),
    ],
    env: options.env,
  }
}

/** The MCP server entry of `client`, merged into its config file at `scope`. */
export function planServer(client: ClientName, scope: Scope, places: Places, spec: ServerSpec): PlannedFile {
  const path = configFile(client, scope, places)
  if (path === undefined) throw new Error(`${client} has no ${scope} configuration; use --scope user`)
  if (client === 'codex') return planned(path, mergeCodexToml(path, read(path), spec))
  return planned(path, `${JSON.stringify(mergeJsonServer(client, readJsonObject(path), spec), null, 2)}\n`)
}

/**
 * The hook entries of `client` (Claude Code or Codex), for Codex the feature flag they need, and for a
 * PostgreSQL URL with a password the 0600 file the hooks read it from ({@link databaseEntry}). `drafts` are
 * files planned before (the server entry of `mcp install --hooks`): the flag is added to their content, not
 * to the file on disk, so the one file written holds both.
 */
export function planHooks(
  client: 'claude-code' | 'codex',
  scope: Scope,
  places: Places,
  base: string[],
  agent: string,
  database: string,
  options: { drafts?: PlannedFile[]; schema?: string | undefined } = {},
): PlannedFile[] {
  const path = hooksFile(client, scope, places)
  // The database as the server entry names it (a URL with a password: the user's 0600 file); the hook runs
  // in the client's environment, so its command line says it: --db, or the variables set before it.
  const entry = databaseEntry(places, database, options.schema)
  const { AGENT_COMM_DB_PATH: db, ...env } = entry.env
  const commands: Record<string, string> = {}
  for (const event of Object.keys(HOOK_EVENTS)) {
    commands[event] = hookCommand(client, base, agent, { db, env }, event)
  }
  const files = [
    ...entry.files,
    planned(path, `${JSON.stringify(mergeHooks(readJsonObject(path), commands), null, 2)}\n`),
  ]
  if (client === 'codex') {
    const config = configFile('codex', scope, places)!
    const draft = options.drafts?.find((file) => file.path === config)
    files.push(planned(config, enableCodexHooks(config, draft?.content ?? read(config))))
  }
  return files
}

/** `drafts` followed by `later`, a later plan of the same file replacing the draft it was built on. */
export function combinePlans(drafts: PlannedFile[], later: PlannedFile[]): PlannedFile[] {
  const replaced = new Set(later.map((file) => file.path))
  return [...drafts.filter((file) => !replaced.has(file.path)), ...later]
}

/**
 * Writes the planned files (or prints them on a dry run), saying what it did, and returns them as they may
 * be shown (the `--json` result): a PostgreSQL URL's password is written to the file but never printed, since
 * terminals and CI logs keep it.
 */
export function applyOrPrint(
  command: { log(text: string): void },
  files: PlannedFile[],
  dryRun: boolean,
): PlannedFile[] {
  for (const file of files) {
    if (dryRun) {
      command.log(`would ${file.action} ${file.path}:\n${redactUrlsIn(file.content)}`)
    } else {
      writeFileAtomic(file.path, file.content)
      command.log(`${file.action === 'create' ? 'created' : 'updated'} ${file.path}`)
    }
  }
  return files.map((file) => ({ ...file, content: redactUrlsIn(file.content) }))
}
