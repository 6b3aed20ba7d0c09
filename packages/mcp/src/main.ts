// The `agent-comm-mcp` command: parses its flags and starts the stdio or HTTP server. Only bin/ calls it.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'
import { errorMessage, isAgentCommError } from '@agent-comm/protocol'
import { MAX_PORT } from '@agent-comm/protocol/bounds'
import { catchStopSignals } from '@agent-comm/protocol/stop-signals'
import { MCP_HTTP_DEFAULTS } from './defaults.js'
import type { RunningHttpServer } from './http.js'
import { packageVersion } from './server.js'
import type { RunningServer } from './stdio.js'

async function usage(): Promise<string> {
  // Only help needs the coordinator's variable list: serving must not wait for that import.
  const { CONFIG_VARIABLES } = await import('@agent-comm/coordinator')
  return `Usage: agent-comm-mcp [options]

Serves agent-comm as MCP tools and resources. By default over stdio (for MCP clients that launch it);
with --http over Streamable HTTP.

Options:
  --http                  serve MCP over Streamable HTTP instead of stdio
  --port <n>              HTTP port (default ${MCP_HTTP_DEFAULTS.port}; 0 picks a free one)
  --host <address>        HTTP address to bind (default ${MCP_HTTP_DEFAULTS.host})
  --db <file|url>         SQLite file, or a PostgreSQL URL such as postgres://user:password@host:5432/agents
                          (default: AGENT_COMM_DB_PATH)
  --relay-data-dir <dir>  relay data folder whose secrets the relay tools manage
                          (default: AGENT_COMM_RELAY_DATA_DIR; without it those tools are hidden)
  --agent <id>            act as this agent: registered and heartbeated on connect, the default
                          from_agent/agent_id, and the only agent the session may act as
                          (default: AGENT_COMM_AGENT; over HTTP also the X-Agent-Comm-Agent header)
  --allow-any-agent       operator switch: with --agent, still let the session act as agents it names
  --tools <profile|list>  core, messaging, admin, all (default) or a comma list of tool names
                          (default: AGENT_COMM_MCP_TOOLS)
  --channel               Claude Code channel: announce new mail for --agent as
                          notifications/claude/channel (AGENT_COMM_MCP_CHANNEL=1)
  --session-ttl <s>       HTTP: close sessions idle this many seconds (default ${MCP_HTTP_DEFAULTS.sessionTtlSeconds})
  --token <token>         HTTP: require Authorization: Bearer <token> (default: AGENT_COMM_MCP_TOKEN;
                          required with a --host other than loopback)
  --allowed-origin <o>    HTTP: a browser Origin allowed besides loopback ones (repeatable)
  -h, --help              show this help
  -v, --version           show the version

Environment:
${Object.entries(CONFIG_VARIABLES)
  .map(([name, meaning]) => `  ${name}  ${meaning}`)
  .join('\n')}
  AGENT_COMM_RELAY_DATA_DIR  relay data folder (secrets.json) for comm_relay_gen_secret / comm_relay_list_secrets
  AGENT_COMM_SECRET_<AGENT>  relay secret of an agent registered with transport http (agent-b: AGENT_COMM_SECRET_AGENT_B)
`
}

/** What {@link main} needs from the process; passed in so it can be tested. */
export interface MainIo {
  argv: string[]
  env: Record<string, string | undefined>
  /** Human output (help, version); never used while serving stdio. */
  print(text: string): void
  /** Errors and notices: stderr. */
  printError(text: string): void
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return MCP_HTTP_DEFAULTS.port
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) {
    throw new RangeError(`--port must be a port number from 0 to ${MAX_PORT} (got '${value}')`)
  }
  return port
}

/**
 * Runs the command until the server stops. Resolves the exit code: 0 after a clean stop, 1 when the server
 * could not start, 2 for bad flags and settings the HTTP server refuses. Stops on SIGINT and SIGTERM.
 */
export async function main(io: MainIo): Promise<number> {
  let flags: ReturnType<typeof parse>
  try {
    flags = parse(io.argv)
  } catch (error) {
    io.printError(`${errorMessage(error)}\n\n${await usage()}`)
    return 2
  }
  if (flags.help === true) {
    io.print(await usage())
    return 0
  }
  if (flags.version === true) {
    io.print(`${packageVersion()}\n`)
    return 0
  }
  let port: number
  try {
    port = parsePort(flags.port)
  } catch (error) {
    io.printError(`${(error as Error).message}\n`)
    return 2
  }
  let sessionTtlSeconds: number | undefined
  if (flags['session-ttl'] !== undefined) {
    sessionTtlSeconds = Number(flags['session-ttl'])
    if (!Number.isFinite(sessionTtlSeconds) || sessionTtlSeconds <= 0) {
      io.printError(`--session-ttl must be a positive number of seconds (got '${flags['session-ttl']}')\n`)
      return 2
    }
  }
  const common = {
    env: io.env,
    dbPath: flags.db,
    relayDataDir: flags['relay-data-dir'],
    agent: flags.agent,
    ...(flags['allow-any-agent'] === true ? { allowOtherAgents: true } : {}),
    tools: flags.tools,
    ...(flags.channel === true ? { channel: true } : {}),
  }
  try {
    // Each transport's module is loaded only when used: stdio must answer initialize fast.
    const running: RunningServer | RunningHttpServer =
      flags.http === true
        ? await (await import('./http.js')).startHttpServer({
            ...common,
            port,
            host: flags.host,
            sessionTtlMs: sessionTtlSeconds === undefined ? undefined : sessionTtlSeconds * 1000,
            token: flags.token,
            allowedOrigins: flags['allowed-origin'],
          })
        : await (await import('./stdio.js')).startStdioServer(common)
    // Before the listening line: whoever waits for it may stop the server at once, and a signal without a
    // listener kills the process instead of closing it.
    const stop = catchStopSignals()
    stop.signal.addEventListener('abort', () => void running.close(), { once: true })
    if ('url' in running) io.printError(`agent-comm MCP server listening on ${running.url}\n`)
    await running.closed
    stop.release()
    return 0
  } catch (error) {
    if (isAgentCommError(error)) {
      io.printError(`agent-comm-mcp: ${error.message}${error.hint === undefined ? '' : `\n${error.hint}`}\n`)
    } else {
      io.printError(`agent-comm-mcp: ${errorMessage(error)}\n`)
    }
    // The HTTP server refuses its settings before it serves (a --host beyond loopback without a token):
    // bad usage, 2, as `agent-comm mcp` exits for it.
    return flags.http === true && isAgentCommError(error, 'CONFIG') ? 2 : 1
  }
}

/** The flags `agent-comm-mcp` accepts, as {@link usage} lists them; any other is refused. */
const FLAGS = {
  http: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  db: { type: 'string' },
  'relay-data-dir': { type: 'string' },
  agent: { type: 'string' },
  'allow-any-agent': { type: 'boolean' },
  tools: { type: 'string' },
  channel: { type: 'boolean' },
  'session-ttl': { type: 'string' },
  token: { type: 'string' },
  'allowed-origin': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsOptionsConfig

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values
}
