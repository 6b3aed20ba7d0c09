// The composition root shared by the stdio and HTTP servers: the one module that reads the environment,
// turns it into a configuration and opens the coordinator and the relay secret store.
import { join, resolve } from 'node:path'
// Types only: the coordinator (and drizzle under it) and the HTTP transport are imported when the
// database is opened, so a server answers `initialize` before paying for them.
import type { Coordinator } from '@agent-comm/coordinator'
import { DEFAULT_LOG_LEVEL, type Logger, type LogLevel, readLogLevel } from '@agent-comm/protocol'
import { MailFeed } from './feed.js'
import { stderrLogger } from './logger.js'
import type { RelaySecrets } from './relay-secrets.js'
import type { McpServerOptions } from './server.js'

/** Where a started server gets its coordinator, relay secrets and logger. Everything is optional. */
export interface StartOptions {
  /**
   * Environment read for `AGENT_COMM_*` settings (default: none; the bins pass `process.env`, library code
   * never reads it): `AGENT_COMM_DB_PATH` (a SQLite
   * file or a `postgres://` URL), `AGENT_COMM_PG_SCHEMA`, `AGENT_COMM_PG_POOL_SIZE`,
   * `AGENT_COMM_PROJECT_ROOT`, `AGENT_COMM_TRANSPORT`, `AGENT_COMM_TTL_HOURS`, `AGENT_COMM_LEASE_SECONDS`,
   * `AGENT_COMM_LOG_LEVEL` and `AGENT_COMM_RELAY_DATA_DIR`; and `AGENT_COMM_SECRET_<AGENT>`, the relay
   * secret each agent registered with transport `http` signs its requests with.
   */
  env?: Record<string, string | undefined>
  /** Folder relative paths are taken from (default `process.cwd()`). */
  cwd?: string
  /**
   * The database, winning over `AGENT_COMM_DB_PATH`: a SQLite file (relative to `cwd`) or a `postgres://` /
   * `postgresql://` URL (taken as it is; the schema and pool size from `AGENT_COMM_PG_SCHEMA` and
   * `AGENT_COMM_PG_POOL_SIZE`).
   */
  dbPath?: string
  /** Serve this coordinator instead of opening one; the caller keeps owning (and closes) it. */
  coordinator?: Coordinator
  /** The relay's data folder, whose `secrets.json` the relay tools manage; wins over `AGENT_COMM_RELAY_DATA_DIR`. */
  relayDataDir?: string
  /** Use this secret store instead of opening one from `relayDataDir`. */
  relaySecrets?: RelaySecrets
  /** Where logs go (default: stderr, at `AGENT_COMM_LOG_LEVEL`). Never stdout. */
  logger?: Logger
  /** See `McpServerOptions.inboxCheckIntervalMs`. */
  inboxCheckIntervalMs?: number
  /** The agent every session acts as; wins over `AGENT_COMM_AGENT`. See `McpServerOptions.agent`. */
  agent?: string | undefined
  /** Operator switch `--allow-any-agent`: see `McpServerOptions.allowOtherAgents`. */
  allowOtherAgents?: boolean | undefined
  /** Tool profile or list; wins over `AGENT_COMM_MCP_TOOLS`. See `McpServerOptions.tools`. */
  tools?: string | undefined
  /** Claude Code channel (`--channel`, or `AGENT_COMM_MCP_CHANNEL=1`). See `McpServerOptions.channel`. */
  channel?: McpServerOptions['channel']
  /** See `McpServerOptions.callWaitCapMs`. */
  callWaitCapMs?: number | undefined
}

/** What every session of a server is built with, beside its coordinator. */
export type SessionOptions = Omit<McpServerOptions, 'coordinator'>

/** What a server knows from its options and environment alone, before the database is open. */
export interface Settings {
  logger: Logger
  /** The relay data folder, absolute, if one is configured. */
  relayDataDir: string | undefined
  /** Session options without those that need the open database (feed, relay secrets). */
  session: Omit<SessionOptions, 'feed' | 'relaySecrets'>
}

function logLevelOf(value: string | undefined): LogLevel {
  // An invalid value is reported when the configuration is loaded; until then, the default.
  return readLogLevel(value) ?? DEFAULT_LOG_LEVEL
}

/** Reads the settings that need no database: identity, tools, channel, logging, relay folder. Cheap. */
export function readSettings(options: StartOptions = {}): Settings {
  const env = options.env ?? {}
  const cwd = options.cwd ?? process.cwd()
  const logger = options.logger ?? stderrLogger(logLevelOf(env.AGENT_COMM_LOG_LEVEL))
  const dataDir = nonEmpty(options.relayDataDir) ?? nonEmpty(env.AGENT_COMM_RELAY_DATA_DIR)
  const relayDataDir = dataDir === undefined ? undefined : resolve(cwd, dataDir)
  const channelEnv = nonEmpty(env.AGENT_COMM_MCP_CHANNEL)
  return {
    logger,
    relayDataDir,
    session: {
      logger,
      agent: nonEmpty(options.agent) ?? nonEmpty(env.AGENT_COMM_AGENT),
      allowOtherAgents: options.allowOtherAgents === true,
      tools: nonEmpty(options.tools) ?? nonEmpty(env.AGENT_COMM_MCP_TOOLS),
      channel: options.channel ?? (channelEnv !== undefined && channelEnv !== '0' && channelEnv !== 'false'),
      relaySecretsConfigured: options.relaySecrets !== undefined || relayDataDir !== undefined,
      relaySecretOutputDir: relayDataDir === undefined ? undefined : join(relayDataDir, 'issued'),
      callWaitCapMs: options.callWaitCapMs,
      inboxCheckIntervalMs: options.inboxCheckIntervalMs,
    },
  }
}

/** What a server runs on, and how to release what was opened for it. */
export interface Runtime {
  coordinator: Coordinator
  relaySecrets: RelaySecrets | undefined
  logger: Logger
  inboxCheckIntervalMs: number | undefined
  /** The options of each session's `createMcpServer` (one change feed shared by all). */
  session: SessionOptions
  /** Closes the coordinator if this runtime opened it. */
  close(): Promise<void>
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}

/**
 * Opens what a server needs: the configuration from the environment (flags win), the coordinator on it
 * and, with a relay data folder, the relay's secret store. Throws `ConfigError` for a bad variable and
 * `StorageError` for an unusable database or secret file.
 */
export async function openRuntime(
  options: StartOptions = {},
  settings = readSettings(options),
): Promise<Runtime> {
  const env = options.env ?? {}
  const cwd = options.cwd ?? process.cwd()
  const [
    { createCoordinator, describeAgentTransports, isPostgresUrl, loadConfig },
    { HttpTransport, secretFromEnv },
  ] = await Promise.all([import('@agent-comm/coordinator'), import('@agent-comm/transport-http')])
  // loadConfig reads AGENT_COMM_LOG_LEVEL as logLevelOf does (readLogLevel), but refuses an unknown level.
  const config = loadConfig(env, {
    cwd,
    overrides: {
      // A URL names a server: it is never resolved as a path.
      dbPath:
        options.dbPath === undefined || isPostgresUrl(options.dbPath)
          ? options.dbPath
          : resolve(cwd, options.dbPath),
    },
  })
  const logger =
    options.logger ??
    (config.logLevel === logLevelOf(env.AGENT_COMM_LOG_LEVEL)
      ? settings.logger
      : stderrLogger(config.logLevel))
  const owned = options.coordinator === undefined
  const coordinator =
    options.coordinator ??
    (await createCoordinator(config, {
      logger,
      // Agents registered with transport `http` are reached through their relay; each request is signed
      // with the acting agent's AGENT_COMM_SECRET_<AGENT> from `env` (a missing one is a tool error that
      // names the variable and `agent-comm relay gen-secret`).
      http: (profile) =>
        new HttpTransport({
          // The registry refuses an http agent without a relay URL.
          baseUrl: profile.relayUrl!,
          secretFor: (agentId) => secretFromEnv(env, agentId),
          // Claimed messages it cannot read (dead-lettered alone) are reported here.
          logger,
        }),
    }))
  try {
    const dataDir = settings.relayDataDir
    const relaySecrets =
      options.relaySecrets ??
      (dataDir === undefined
        ? undefined
        : await (await import('./relay-store.js')).openRelaySecrets(dataDir, logger))
    if (config.logLevel === 'debug') {
      // What the server actually works with, as `agent-comm <command>` says it at debug level; the agent
      // list is read only then. Relay URLs lose user info and query, so no secret is printed.
      logger.debug(
        {
          // The spool's location: a SQLite file, or a URL without its password.
          database: owned ? coordinator.storage.path : '(a coordinator given by the caller)',
          projectRoot: config.projectRoot,
          agents: describeAgentTransports(await coordinator.discover()),
          unregisteredTransport: config.defaultTransport,
          relayDataDir: dataDir ?? null,
        },
        'setup',
      )
    }
    const session: SessionOptions = {
      ...settings.session,
      logger,
      feed: new MailFeed(() => coordinator, options.inboxCheckIntervalMs),
      relaySecrets,
      // comm_cleanup removes the finished A2A tasks of the database it opened, as `agent-comm cleanup` does.
      a2aTasks: owned ? { dbPath: config.dbPath, postgresSchema: config.postgresSchema } : undefined,
    }
    return {
      coordinator,
      relaySecrets,
      logger,
      session,
      inboxCheckIntervalMs: options.inboxCheckIntervalMs,
      close: async () => {
        if (owned) await coordinator.close()
      },
    }
  } catch (error) {
    if (owned) await coordinator.close()
    throw error
  }
}
