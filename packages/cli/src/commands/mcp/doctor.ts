import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { errorMessage } from '@agent-comm/protocol/errors'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import {
  AGENT_COMM_HOOK,
  CLIENTS,
  configFile,
  hookProgram,
  hooksFile,
  jsonServer,
  type Places,
  readJsonObject,
  type Scope,
} from '../../client-config.js'
import { codexServer, parseCodexToml } from '../../codex-config.js'
import { examples } from '../../examples.js'
import { cliCommand, currentPlaces } from '../../install-plan.js'
import type { DoctorEntry, DoctorResult } from '../../json-output.js'

/** The agents whose inbox hooks agent-comm installed in a hooks file (`hooks install`). */
function hookAgents(settings: Record<string, unknown>): string[] {
  const agents = new Set<string>()
  const text = JSON.stringify(settings.hooks ?? {})
  for (const match of text.matchAll(new RegExp(AGENT_COMM_HOOK.source, 'g'))) agents.add(match[1]!)
  return [...agents]
}

/** The agent-comm SessionStart hook commands of a hooks file. */
function sessionStartHooks(settings: Record<string, unknown>): string[] {
  const hooks = settings.hooks as { SessionStart?: unknown } | undefined
  const groups = Array.isArray(hooks?.SessionStart) ? (hooks.SessionStart as unknown[]) : []
  return groups
    .flatMap((group) => (group as { hooks?: unknown }).hooks ?? [])
    .map((hook) => (hook as { command?: unknown }).command)
    .filter((command): command is string => typeof command === 'string' && AGENT_COMM_HOOK.test(command))
}

/** The command that writes an entry again with this installation of agent-comm (`mcp` or `hooks install`). */
function reinstall(
  kind: 'mcp' | 'hooks',
  client: string,
  scope: 'project' | 'user',
  agent: string | null,
): string {
  return `${cliCommand().join(' ')} ${kind} install --client ${client}${agent === null ? '' : ` --agent ${agent}`}${scope === 'user' ? ' --scope user' : ''}`
}

/**
 * Why a path an entry runs is gone, and what to do: entries name Node.js and agent-comm's bin by absolute
 * path, which an upgrade installed elsewhere, or another Node.js version (nvm), leaves behind.
 */
function moved(fix: string): string {
  return `agent-comm or Node.js was moved or reinstalled (an upgrade, another Node.js version); write it again from this installation: ${fix}`
}

/** Runs a hook's command with a POSIX shell in `cwd`: undefined when it succeeds, else why it failed. */
function hookFailure(command: string, cwd: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { cwd, timeout: timeoutMs, encoding: 'utf8' },
      (error, _out, err) => {
        if (error === null) return resolve(undefined)
        // The hook's own first line (`Error: …`, a server without its password), or how it ended.
        const line = err.split('\n').find((text) => text.trim() !== '')
        resolve(
          line?.replace(/^Error: /, '') ??
            (error.killed ? `no answer within ${timeoutMs / 1000} s` : error.message),
        )
      },
    )
  })
}

/** Starts the server as the client would and waits for its answer to initialize. */
function starts(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const done = (problem: string | undefined): void => {
      clearTimeout(timer)
      child.kill()
      resolve(problem)
    }
    const timer = setTimeout(
      () => done(`the server did not answer initialize within ${timeoutMs / 1000} s`),
      timeoutMs,
    )
    child.once('error', (error) => done(`the server does not start: ${error.message}`))
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8')
    })
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
      if (out.includes('"id":1'))
        done(out.includes('"result"') ? undefined : `initialize failed: ${out.trim()}`)
    })
    child.once('exit', (code) =>
      done(`the server exited (${code}) before answering: ${err.trim().split('\n').at(-1) ?? ''}`),
    )
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'agent-comm-doctor', version: '1' } } })}\n`,
    )
  })
}

/** `agent-comm mcp doctor`: what is installed where, and what drifted. */
export default class McpDoctor extends BaseCommand<typeof McpDoctor> {
  static override summary =
    'Report where agent-comm is configured as an MCP server and what is wrong with each entry.'
  static override description =
    'Looks in the project and user configuration of every client `mcp install` knows (Claude Code, Claude Desktop, Codex, Cursor, VS Code, Gemini CLI) and reports each agent-comm entry: a command or script path that no longer exists, a missing database, a different agent than --agent, and (unless --no-start) a server that does not answer initialize. Inbox hooks (Claude Code, Codex) are reported when installed without a server entry and (unless --no-start) when their SessionStart command fails, run once as the assistant runs it (it moves no cursor): a SQLite file or PostgreSQL server they cannot read, a database file that is gone. Exits 1 when something is wrong.'
  static override examples = examples('', '--agent builder --no-start --json')
  static override flags = {
    agent: Flags.string({ description: 'the agent every entry should be bound to', helpValue: '<id>' }),
    start: Flags.boolean({
      description: 'start each server once to check it answers (default on)',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<DoctorResult> {
    const places = currentPlaces()
    const entries: DoctorEntry[] = []
    const seen = new Set<string>()
    for (const client of CLIENTS) {
      for (const scope of ['project', 'user'] as const) {
        const file = configFile(client, scope, places)
        if (file === undefined || seen.has(file) || !existsSync(file)) continue
        seen.add(file)
        let found: { command?: unknown; args?: unknown; env?: unknown } | undefined
        try {
          found =
            client === 'codex'
              ? codexServer(parseCodexToml(file, readFileSync(file, 'utf8')))
              : jsonServer(client, readJsonObject(file))
        } catch (error) {
          entries.push({
            client,
            scope,
            file,
            command: '',
            args: [],
            database: null,
            agent: null,
            problems: [(error as Error).message],
          })
          continue
        }
        if (found === undefined) continue
        const command = typeof found.command === 'string' ? found.command : ''
        const args = Array.isArray(found.args) ? found.args.map(String) : []
        const env = (typeof found.env === 'object' && found.env !== null ? found.env : {}) as Record<
          string,
          string
        >
        const problems: string[] = []
        const database = await this.#databaseOf(env, problems)
        const agentAt = args.indexOf('--agent')
        const agent = agentAt === -1 ? null : (args[agentAt + 1] ?? null)
        const again = moved(reinstall('mcp', client, scope, agent))
        if (command === '') problems.push('stale command: (none)')
        else if (command.includes('/') && !existsSync(command))
          problems.push(`stale command: ${command}; ${again}`)
        const script = args.find((a) => a.endsWith('.js'))
        if (script !== undefined && !existsSync(script)) problems.push(`stale path: ${script}; ${again}`)
        if (database !== null && !/^postgres(ql)?:/.test(database) && !existsSync(database))
          problems.push(`missing database: ${database}`)
        if (this.flags.agent !== undefined && agent !== this.flags.agent)
          problems.push(`wrong agent: ${agent ?? '(none)'} instead of ${this.flags.agent}`)
        if (this.flags.start && problems.length === 0) {
          const failure = await starts(command, args, env, 20_000)
          if (failure !== undefined) problems.push(failure)
        }
        // Shown without a PostgreSQL URL's password, in the text and the --json output alike.
        const shown = database === null ? null : (await this.runtime()).describeDatabase(database)
        entries.push({ client, scope, file, command, args, database: shown, agent, problems })
      }
    }
    entries.push(...this.#hooksWithoutServer(entries))
    entries.push(...(await this.#failingHooks(this.flags.start)))
    if (entries.length === 0) {
      this.log(
        `agent-comm is not configured in any client. Add it: ${cliCommand().join(' ')} mcp install --client claude-code`,
      )
    }
    for (const entry of entries) {
      this.log(
        `${entry.problems.length === 0 ? 'ok  ' : 'FAIL'} ${entry.client} (${entry.scope}) ${entry.file}${entry.agent === null ? '' : ` agent ${entry.agent}`}${entry.problems.map((p) => `\n       - ${p}`).join('')}`,
      )
    }
    const ok = entries.every((e) => e.problems.length === 0)
    if (!ok) process.exitCode = 1
    return { entries, ok }
  }

  /**
   * The database an entry's server opens: `AGENT_COMM_DB_PATH_FILE`'s content (what `mcp install` writes for
   * a URL with a password), else `AGENT_COMM_DB_PATH`; null, with the problem added, when neither serves.
   */
  async #databaseOf(env: Record<string, string>, problems: string[]): Promise<string | null> {
    if (env.AGENT_COMM_DB_PATH_FILE !== undefined) {
      try {
        return (await this.runtime()).readDatabaseFile(env.AGENT_COMM_DB_PATH_FILE, 'AGENT_COMM_DB_PATH_FILE')
      } catch (error) {
        problems.push(errorMessage(error))
        return null
      }
    }
    if (env.AGENT_COMM_DB_PATH !== undefined) return env.AGENT_COMM_DB_PATH
    problems.push(
      'no AGENT_COMM_DB_PATH: the server uses ./data/coordination.db of whatever folder the client starts it in',
    )
    return null
  }

  /**
   * Inbox hooks whose SessionStart command fails: one that runs a path no longer there (agent-comm or Node.js
   * moved, say by an upgrade), and with `run` any other that fails when run once as the assistant runs it (a
   * POSIX shell, the client's folder): what the assistant would get instead of its mail. That command moves
   * no cursor.
   */
  async #failingHooks(run: boolean): Promise<DoctorEntry[]> {
    const places = currentPlaces()
    const found: DoctorEntry[] = []
    for (const { client, scope, file } of hooksFiles(places)) {
      let commands: string[]
      try {
        commands = sessionStartHooks(readJsonObject(file))
      } catch {
        continue // reported by #hooksWithoutServer or the server entry's check of the same file
      }
      for (const command of commands) {
        const agent = AGENT_COMM_HOOK.exec(command)?.[1] ?? null
        const gone = hookProgram(command).find((word) => word.includes('/') && !existsSync(word))
        const failure =
          gone !== undefined
            ? `it runs ${gone}, which is not there; ${moved(reinstall('hooks', client, scope, agent))}`
            : run
              ? await hookFailure(command, places.cwd, 15_000)
              : undefined
        if (failure === undefined) continue
        found.push({
          ...blank(client, scope, file),
          agent,
          problems: [`inbox hook for ${agent} fails: ${failure}`],
        })
      }
    }
    return found
  }

  /**
   * Inbox hooks of a client that has no agent-comm server entry: the assistant sees the mail but has no
   * tools to answer it (typically a server entry lost or removed after `mcp install --hooks`).
   */
  #hooksWithoutServer(entries: DoctorEntry[]): DoctorEntry[] {
    const found: DoctorEntry[] = []
    for (const { client, scope, file } of hooksFiles(currentPlaces())) {
      if (entries.some((entry) => entry.client === client)) continue
      let agents: string[]
      try {
        agents = hookAgents(readJsonObject(file))
      } catch (error) {
        agents = []
        found.push({ ...blank(client, scope, file), problems: [(error as Error).message] })
      }
      for (const agent of agents) {
        const install = reinstall('mcp', client, scope, agent)
        found.push({
          ...blank(client, scope, file),
          agent,
          problems: [
            `inbox hooks for ${agent} are installed but agent-comm's MCP server is not configured for ${client}; add it: ${install}`,
          ],
        })
      }
    }
    return found
  }
}

/** The inbox hooks files there are: Claude Code's and Codex's, of the project and of the user, in that order. */
function* hooksFiles(
  places: Places,
): Generator<{ client: 'claude-code' | 'codex'; scope: Scope; file: string }> {
  for (const client of ['claude-code', 'codex'] as const) {
    for (const scope of ['project', 'user'] as const) {
      const file = hooksFile(client, scope, places)
      if (existsSync(file)) yield { client, scope, file }
    }
  }
}

function blank(client: string, scope: 'project' | 'user', file: string): DoctorEntry {
  return { client, scope, file, command: '', args: [], database: null, agent: null, problems: [] }
}
