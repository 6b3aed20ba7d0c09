import { MCP_HTTP_DEFAULTS as D } from '@agent-comm/mcp/defaults'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { startMcpServer } from '../context.js'
import { listenFailure } from '../errors.js'
import { examples } from '../examples.js'
import { portFlag } from '../flags.js'
import type { McpHttpResult } from '../json-output.js'

/** `agent-comm mcp`: serves agent-comm's MCP tools and resources (@agent-comm/mcp). */
export default class Mcp extends BaseCommand<typeof Mcp> {
  static override summary = 'Serve agent-comm to AI assistants as an MCP server (stdio or Streamable HTTP).'
  static override description =
    `The same server as agent-comm-mcp: tools to register agents, send, poll, reply, ack and follow conversations, and each inbox and conversation as a resource, over the database of --db / AGENT_COMM_DB_PATH. Agents registered with --transport-type http are reached through their relay, signed with AGENT_COMM_SECRET_<AGENT>.

By default it speaks MCP over stdio, as MCP clients launch local servers: stdout carries nothing but protocol frames, notices and logs go to stderr, and it stops when the client closes stdin (or on SIGINT / SIGTERM).

With --http it serves Streamable HTTP on http://<host>:<port>/mcp (${D.host}:${D.port} by default; the tools are not authenticated, so bind anything but loopback only behind your own authentication). It prints the URL to stderr (with --json, {"url"} as one line on stdout) and runs until Ctrl-C or SIGTERM.

Client configuration (.mcp.json): {"mcpServers": {"agent-comm": {"command": "agent-comm", "args": ["mcp"], "env": {"AGENT_COMM_DB_PATH": "/home/me/.agent-comm/coordination.db"}}}}`
  static override examples = examples`
    <%= config.bin %> <%= command.id %>
    --db ~/.agent-comm/coordination.db
    --http --port ${D.port}
    --http --port 0 --json   # {"url":"http://127.0.0.1:40117/mcp"}
  `
  static override flags = {
    http: Flags.boolean({ description: 'serve Streamable HTTP instead of stdio' }),
    port: portFlag({
      description: `with --http: TCP port, 0 for a free one (default ${D.port})`,
      helpValue: '<port>',
      dependsOn: ['http'],
    }),
    host: Flags.string({
      description: `with --http: address to bind (default ${D.host})`,
      helpValue: '<address>',
      dependsOn: ['http'],
    }),
    agent: Flags.string({
      description:
        'act as this agent: registered and heartbeated on connect, the default from_agent/agent_id, and the only agent the session may act as (default: AGENT_COMM_AGENT)',
      helpValue: '<id>',
    }),
    'allow-any-agent': Flags.boolean({
      description: 'operator switch: with --agent, still let the session act as other agents it names',
    }),
    tools: Flags.string({
      description:
        'tool profile: core, messaging, admin, all (default) or a comma list (default: AGENT_COMM_MCP_TOOLS)',
      helpValue: '<profile|list>',
    }),
    channel: Flags.boolean({
      description:
        'Claude Code channel: announce new mail for --agent as notifications/claude/channel (start Claude Code with --dangerously-load-development-channels server:agent-comm)',
    }),
    'session-ttl': Flags.integer({
      description: `with --http: close sessions idle this many seconds (default ${D.sessionTtlSeconds})`,
      min: 1,
      dependsOn: ['http'],
    }),
    token: Flags.string({
      description:
        'with --http: require Authorization: Bearer <token> (default AGENT_COMM_MCP_TOKEN, which ps does not show: prefer it; required beyond loopback)',
      dependsOn: ['http'],
    }),
    'allowed-origin': Flags.string({
      description:
        'with --http: a browser Origin allowed besides loopback ones, e.g. https://app.example.com (repeatable; others get 403)',
      multiple: true,
      dependsOn: ['http'],
    }),
    'relay-data-dir': Flags.string({
      description:
        'relay data folder whose secrets.json the comm_relay_* tools manage (default: AGENT_COMM_RELAY_DATA_DIR; without either they are unavailable)',
      helpValue: '<dir>',
    }),
  }

  protected override runsUntilStopped(): boolean {
    return true
  }

  async run(): Promise<undefined> {
    const { flags } = this
    const json = this.jsonEnabled()
    const options = {
      db: flags.db,
      relayDataDir: flags['relay-data-dir'],
      agent: flags.agent,
      allowOtherAgents: flags['allow-any-agent'],
      tools: flags.tools,
      channel: flags.channel,
      sessionTtlMs: flags['session-ttl'] === undefined ? undefined : flags['session-ttl'] * 1000,
      token: flags.token,
      allowedOrigins: flags['allowed-origin'],
    }
    const port = flags.port ?? D.port
    let running: Awaited<ReturnType<typeof startMcpServer>>
    try {
      running = await startMcpServer(
        flags.http ? { transport: 'http', port, host: flags.host } : { transport: 'stdio' },
        options,
      )
    } catch (error) {
      throw (
        listenFailure(error, {
          what: 'MCP server',
          host: flags.host ?? D.host,
          port,
          retry: 'agent-comm mcp --http',
        }) ?? error
      )
    }
    if ('url' in running) {
      if (json) this.logJsonLine({ url: running.url } satisfies McpHttpResult)
      else process.stderr.write(`agent-comm MCP server listening on ${running.url} (Ctrl-C to stop)\n`)
    }
    // On stdio the server stops by itself when the client closes stdin; a signal stops either.
    const stop = this.stopSignal()
    const close = (): void => {
      void running.close()
    }
    if (stop.aborted) close()
    else stop.addEventListener('abort', close, { once: true })
    await running.closed
    return undefined
  }
}
