// The composition root of the CLI: the one module that reads the environment, turns it and the global
// flags into a configuration, builds the coordinator and hands it to a command. Commands never read
// process.env or construct library objects themselves.
import { resolve } from 'node:path'
import type { Coordinator, CoordinatorConfig } from '@agent-comm/coordinator'
import type { RunningHttpServer, RunningServer } from '@agent-comm/mcp'
import type { Logger, LogLevel, MessageV2 } from '@agent-comm/protocol'
import { DEFAULT_LOG_LEVEL, readLogLevel } from '@agent-comm/protocol/vocabulary'
import type { RelayConfig, RelayHandle } from '@agent-comm/relay'
import type { RelaySecretStore } from '@agent-comm/secrets'
import type { DatabaseFileOptions } from '@agent-comm/spool'
import {
  CommandFailure,
  databaseOpenFailure,
  ExitCode,
  exitCodeFor,
  isDiskFull,
  mayOnlyRead,
  missingSchemaFailure,
} from './errors.js'

/** What a command runs against. Close it when the command is done. */
export interface CommandContext {
  readonly coordinator: Coordinator
  readonly config: CoordinatorConfig
  /** True when the database was opened read-only (a read command on a file this user may not write). */
  readonly readOnly: boolean
  /** The command's logger (stderr, at AGENT_COMM_LOG_LEVEL), the one the coordinator logs to. */
  readonly logger: Logger
  close(): Promise<void>
}

/** Where the context's settings come from besides the environment. */
export interface ContextOptions {
  /**
   * The `--db` flag: wins over AGENT_COMM_DB_PATH. A SQLite file (relative paths are taken from the current
   * folder) or a `postgres://` / `postgresql://` URL (taken as it is).
   */
  db?: string | undefined
  /**
   * A throwaway database (the demo's): this SQLite file — or, when the configured database is a PostgreSQL
   * URL, a schema of its own in that database (`agent_comm_demo_<random>`), dropped on close.
   */
  temporary?: { file: string } | undefined
  /** Use this project root instead of AGENT_COMM_PROJECT_ROOT (the demo's temporary folder). */
  projectRoot?: string | undefined
  /** Create the database when it is missing (default true); false makes a missing database an error. */
  create?: boolean | undefined
  /** Accept a SQLite file that holds another application's tables (`--allow-foreign-tables`). */
  allowForeignTables?: boolean | undefined
  /**
   * The agent the command acts for (`send`'s sender): a relay is asked about a message (`status`, the
   * original of `--reply-to`) with this agent's secret. Without it, as the http agent the relay was
   * registered for: the relay shows a message to its sender and recipients.
   */
  actingAgent?: string | undefined
  /**
   * The command only reads (`agents`, `stats`, `search`…): a database this user may read but not write is
   * then opened read-only instead of refused (a write command gets the permission hint).
   */
  readsOnly?: boolean | undefined
}

/** The library code commands use at run time, loaded on first use (see runtime.ts). */
export type Runtime = typeof import('./runtime.bundle.js')

let runtime: Promise<Runtime> | undefined

/** Loads the bundled library code once; `--help` and flag errors never pay for it. */
export function loadRuntime(): Promise<Runtime> {
  runtime ??= import('./runtime.bundle.js')
  return runtime
}

/**
 * The database of `--db` (or of another database flag, `flag`), absolute: a URL names a server and is never resolved as a path (that would open
 * an empty SQLite file named after the URL, password and all). Undefined without `--db`.
 */
export function databasePath(
  db: string | undefined,
  cwd: string,
  isPostgresUrl: (database: string) => boolean,
  flag = '--db',
): string | undefined {
  if (db === undefined) return undefined
  // An empty path would resolve to the current folder: say so rather than try to open a folder.
  if (db.trim() === '') {
    throw new CommandFailure('CONFIG', `${flag} is empty: it needs a database file or a PostgreSQL URL`, {
      hint: `Name the SQLite file (e.g. ${flag} data/coordination.db)${flag === '--db' ? ' or leave --db out for the default' : ''}.`,
      exitCode: ExitCode.USAGE,
    })
  }
  return isPostgresUrl(db) ? db : resolve(cwd, db)
}

/**
 * Reads the configuration (flags over AGENT_COMM_* variables over defaults) and opens the coordinator on
 * it. Throws `ConfigError` for a bad variable and `StorageError` for an unusable database.
 */
export async function openContext(options: ContextOptions = {}): Promise<CommandContext> {
  const runtime = await loadRuntime()
  const { createCoordinator, DeferredTransport, isPostgresUrl, loadConfig, loadTransportHttp } = runtime
  const cwd = process.cwd()
  // loadConfig reads AGENT_COMM_LOG_LEVEL as logLevel() does (upper case accepted) and refuses a bad one.
  const configured = loadConfig(process.env, {
    cwd,
    overrides: {
      projectRoot: options.projectRoot === undefined ? undefined : resolve(cwd, options.projectRoot),
      dbPath: databasePath(options.db, cwd, isPostgresUrl),
    },
  })
  let config = configured
  let temporarySchema: string | undefined
  if (options.temporary !== undefined) {
    if (isPostgresUrl(configured.dbPath)) {
      // node:crypto loaded here, for the demo only: at the top it would be loaded by every `send` too.
      const { randomBytes } = await import('node:crypto')
      temporarySchema = `agent_comm_demo_${randomBytes(6).toString('hex')}`
      config = { ...configured, postgresSchema: temporarySchema }
    } else {
      config = { ...configured, dbPath: options.temporary.file }
    }
  }
  const dropTemporarySchema = async (): Promise<void> => {
    if (temporarySchema === undefined) return
    const { dropPostgresSchema } = await runtime.loadPostgres()
    await dropPostgresSchema({ url: config.dbPath, schema: temporarySchema })
  }
  const logger = stderrLogger(runtime, config.logLevel)
  const open = (database: DatabaseFileOptions): Promise<Coordinator> =>
    createCoordinator(config, {
      database,
      logger,
      // Agents registered with `--transport-type http` are reached through their relay, each request signed
      // with the acting agent's AGENT_COMM_SECRET_<AGENT>. A missing secret fails the call that needs it
      // with a ConfigError naming the variable and `agent-comm relay gen-secret`.
      http: (profile) =>
        new DeferredTransport(
          'http',
          async () => {
            const { HttpTransport, secretFromEnv } = await loadTransportHttp()
            return new HttpTransport({
              // The registry refuses an http agent without a relay URL.
              baseUrl: profile.relayUrl!,
              secretFor: (agentId) => secretFromEnv(process.env, agentId),
              identity: options.actingAgent ?? profile.agentId,
              // Claimed messages it cannot read (dead-lettered alone) are reported here.
              logger,
            })
            // HttpTransport claims one reply (the relay's replies route): `request` can wait through it.
          },
          { claimsReplies: true },
        ),
    })
  const allowForeignTables = options.allowForeignTables ?? false
  const onServer = isPostgresUrl(config.dbPath)
  if (onServer && allowForeignTables) {
    throw new CommandFailure(
      'VALIDATION',
      '--allow-foreign-tables applies to a SQLite file, not to a PostgreSQL URL',
      {
        hint: "Leave it out: on PostgreSQL agent-comm's tables live in a schema of their own (AGENT_COMM_PG_SCHEMA).",
        exitCode: exitCodeFor('VALIDATION'),
      },
    )
  }
  let coordinator: Coordinator
  let readOnly = false
  try {
    coordinator = await open({ create: options.create ?? true, allowForeignTables })
  } catch (error) {
    await dropTemporarySchema()
    // A server's errors are its own (its role's rights): no SQLite file checks, no read-only reopening.
    if (onServer) throw missingSchemaFailure(error)
    // Opening for writing comes first, so a database the user may write is used (and migrated) as always.
    // A command that only reads also reads a database whose disk is full (opening it for writing sizes its
    // -shm file, which a full disk refuses): the read-only open reads it without writing anything.
    if (options.readsOnly !== true || !(mayOnlyRead(error, config.dbPath) || isDiskFull(error))) {
      throw databaseOpenFailure(error, config.dbPath)
    }
    try {
      coordinator = await open({ readonly: true, allowForeignTables })
      readOnly = true
    } catch (readOnlyError) {
      throw databaseOpenFailure(readOnlyError, config.dbPath)
    }
  }
  return {
    coordinator,
    config,
    readOnly,
    logger,
    close: async () => {
      try {
        await coordinator.close()
      } finally {
        await dropTemporarySchema()
      }
    },
  }
}

/** True when AGENT_COMM_LOG_LEVEL is `debug`: errors then show their stack and cause. */
export function debugEnabled(): boolean {
  return logLevel() === 'debug'
}

/** What the `bridge` command asks for: a command line already split into words, or a webhook URL. */
export type BridgeSpec =
  | {
      argv: string[]
      /** Variables the command gets although they carry agent-comm's credentials (`--pass-env`). */
      passEnv?: readonly string[] | undefined
    }
  | { webhook: string }
  | {
      a2aCardUrl: string
      agent: string
      /** The conversation's messages (the coordinator's), where the bridge finds a remote task again. */
      conversation: (conversationId: string) => Promise<readonly MessageV2[]>
    }

/**
 * Builds the bridge for `agent-comm bridge`. Here, in the composition root, the command gets the
 * environment it runs with (this process's, so PATH and the user's variables reach it).
 */
export async function buildBridge(
  spec: BridgeSpec,
  options: { healthTimeoutMs?: number | undefined } = {},
): Promise<import('@agent-comm/bridge').Bridge> {
  const { A2ABridge, a2aTokenFromEnv, CommandBridge, ConversationA2ASessions, HttpBridge } = await (
    await loadRuntime()
  ).loadBridges()
  // `bridge --check --health-timeout`: how long the health check waits for the runtime.
  const health = options.healthTimeoutMs === undefined ? {} : { healthTimeoutMs: options.healthTimeoutMs }
  if ('webhook' in spec) {
    // A webhook's credential comes from the environment, never from a flag (a command line shows in `ps`)
    // nor from the URL (its path and query are hidden from output, but still in `ps`).
    const authorization = process.env.AGENT_COMM_BRIDGE_WEBHOOK_AUTHORIZATION?.trim()
    return new HttpBridge({
      url: spec.webhook,
      ...(authorization ? { headers: { authorization } } : {}),
      ...health,
    })
  }
  if ('a2aCardUrl' in spec) {
    // The remote agent's bearer token, if it needs one, comes from the environment, never from a flag:
    // its own AGENT_COMM_A2A_TOKEN_<AGENT>, else the shared AGENT_COMM_A2A_TOKEN.
    const token = a2aTokenFromEnv(process.env, spec.agent)
    // Origins besides the card's where its JSON-RPC endpoint may be (comma-separated): the operator's word.
    const endpointOrigins = (process.env.AGENT_COMM_A2A_ENDPOINT_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== '')
    return new A2ABridge({
      cardUrl: spec.a2aCardUrl,
      token,
      endpointOrigins,
      // A remote task waiting for input is found again in the conversation: `--once` runs continue it too.
      sessions: new ConversationA2ASessions({ conversation: spec.conversation, agent: spec.agent }),
      ...health,
    })
  }
  const [command, ...args] = spec.argv
  // This process's environment, less agent-comm's credentials (CommandBridge withholds them).
  return new CommandBridge({ command: command!, args, env: process.env, keepEnv: spec.passEnv, ...health })
}

/**
 * AGENT_COMM_LOG_LEVEL as a level, the one reading of it in the CLI (trimmed, upper case accepted, as the
 * library's `loadConfig` reads it): `warn` when unset or not a level. What runs without a loaded config
 * uses it: error output, debug traces (stacks and causes), the secret commands' logger.
 */
function logLevel(): LogLevel {
  return readLogLevel(process.env.AGENT_COMM_LOG_LEVEL) ?? DEFAULT_LOG_LEVEL
}

/**
 * The relay's data folder for `relay gen-secret`, `list-secrets` and `revoke-secret`, found as `relay
 * start` finds it: the `--data-dir` flag, then AGENT_COMM_RELAY_DATA_DIR, then ./data/relay, relative
 * paths taken from the current folder.
 */
export function relayDataDir(flag: string | undefined): string {
  const fromEnv = process.env.AGENT_COMM_RELAY_DATA_DIR?.trim()
  const dir = flag ?? (fromEnv === undefined || fromEnv === '' ? 'data/relay' : fromEnv)
  return resolve(process.cwd(), dir)
}

/** What the relay secret commands do with a store: the file store's operations, or the PostgreSQL one's. */
export type RelaySecretAdmin = Pick<RelaySecretStore, 'generate' | 'rotate' | 'revoke' | 'list'>

/** Where a relay's secrets are: the flags of the secret commands. */
export interface RelaySecretsTarget {
  dataDir?: string | undefined
  db?: string | undefined
  dbSchema?: string | undefined
  secretsKeyFile?: string | undefined
}

/** An open relay secret store and where it is (safe to print). Close it when the command is done. */
export interface OpenedSecretStore {
  store: RelaySecretAdmin
  location: string
  secretEnvName: (agentId: string) => string
  close(): Promise<void>
}

/**
 * Opens the relay's secret store: in PostgreSQL when `--db` or AGENT_COMM_RELAY_DATABASE_URL names one
 * (sealed under the key of AGENT_COMM_RELAY_SECRETS_KEY / `--secrets-key-file`, as the replicas read it),
 * otherwise `<dataDir>/secrets.json` (created 0600 if missing), from a chunk of the runtime bundle without
 * fastify. Warnings (a file mode that had to be repaired) go to stderr.
 */
export async function openSecretStore(target: RelaySecretsTarget): Promise<OpenedSecretStore> {
  const runtime = await loadRuntime()
  // The variable each agent reads its secret from is the HTTP client's rule (`@agent-comm/transport-http`).
  const [{ SecretStore }, { secretEnvName }] = await Promise.all([
    runtime.loadSecretStore(),
    runtime.loadTransportHttp(),
  ])
  const postgres = await relayPostgres(target)
  if (postgres !== undefined) {
    const { openPostgresRelayStores } = await runtime.loadPostgres()
    const { db, config, relaySecretsKey } = postgres
    const stores = await openPostgresRelayStores({
      url: db,
      schema: config.postgresSchema,
      key: relaySecretsKey(config),
      poolSize: 2,
      logger: stderrLogger(runtime, logLevel()),
    })
    return { store: stores.secrets, location: stores.location, secretEnvName, close: () => stores.close() }
  }
  const store = await SecretStore.open({
    path: SecretStore.fileIn(relayDataDir(target.dataDir)),
    logger: stderrLogger(runtime, logLevel()),
  })
  return { store, location: store.path, secretEnvName, close: async () => {} }
}

/**
 * The relay's PostgreSQL database from `--db` or AGENT_COMM_RELAY_DATABASE_URL, with the relay's own
 * reading of its schema and secrets key settings; undefined for a relay on SQLite.
 */
async function relayPostgres(target: RelaySecretsTarget) {
  const fromEnv = process.env.AGENT_COMM_RELAY_DATABASE_URL?.trim()
  const db = target.db ?? (fromEnv === '' ? undefined : fromEnv)
  if (db === undefined) return undefined
  const { loadRelayConfig, relaySecretsKey } = await import('@agent-comm/relay')
  const argv = [
    '--db',
    db,
    ...(target.dbSchema === undefined ? [] : ['--db-schema', target.dbSchema]),
    ...(target.secretsKeyFile === undefined ? [] : ['--secrets-key-file', target.secretsKeyFile]),
  ]
  const loaded = loadRelayConfig(argv, process.env, { cwd: process.cwd() })
  if (loaded.help) throw new Error('unreachable: no --help was passed')
  return { db, config: loaded.config, relaySecretsKey }
}

/** What {@link rotateRelaySecretsKey} did: `relay rotate-secrets-key --json` prints it without `location`. */
export interface RotatedSecretsKey {
  /** How many agent secrets were re-encrypted. */
  reencrypted: number
  /** Fingerprint of the new key (never the key). */
  keyId: string
  /** The new key, base64, when it was generated here (no `newKeyFile`); shown only this once. */
  newKey?: string
  /** Where the secrets are (safe to print). */
  location: string
}

/**
 * `relay rotate-secrets-key`: re-encrypts every secret of the relay's PostgreSQL database under the key
 * in `newKeyFile`, or under a new random one (returned as `newKey`, base64) when none is given.
 */
export async function rotateRelaySecretsKey(
  target: Omit<RelaySecretsTarget, 'dataDir'> & { newKeyFile?: string | undefined },
): Promise<RotatedSecretsKey> {
  const postgres = await relayPostgres(target)
  if (postgres === undefined) {
    throw new CommandFailure('CONFIG', 'rotate-secrets-key needs the PostgreSQL database of the relay', {
      hint: 'Pass --db postgres://… (or set AGENT_COMM_RELAY_DATABASE_URL). A relay on SQLite keeps its secrets in secrets.json, readable only by its owner, and has no key to rotate.',
      exitCode: 2,
    })
  }
  const { db, config, relaySecretsKey } = postgres
  const { openPostgresRelayStores, RelaySecretsKey } = await (await loadRuntime()).loadPostgres()
  const current = relaySecretsKey(config)
  const next =
    target.newKeyFile === undefined
      ? RelaySecretsKey.generate()
      : relaySecretsKey({ secretsKeyFile: resolve(process.cwd(), target.newKeyFile) })
  const stores = await openPostgresRelayStores({
    url: db,
    schema: config.postgresSchema,
    key: current,
    poolSize: 2,
  })
  const rotated = await stores.secrets.rotateKey(next).finally(() => stores.close())
  return {
    ...rotated,
    location: stores.location,
    ...(target.newKeyFile === undefined ? { newKey: next.toBase64() } : {}),
  }
}

/**
 * `cleanup`: the finished A2A tasks in the coordinator's database when it is a relay's, removed past
 * `olderThanMs` and the idempotency window, by the one home every surface cleans them with
 * (`cleanupA2ATasksIn` of `@agent-comm/coordinator/a2a-cleanup`, also behind MCP's comm_cleanup).
 * Undefined for a database without A2A tables: it is not touched.
 */
export async function cleanupA2ATasks(
  config: CoordinatorConfig,
  options: { olderThanMs: number | undefined; dryRun: boolean },
): Promise<import('@agent-comm/a2a').RemovedTasks | undefined> {
  const { cleanupA2ATasksIn } = await (await loadRuntime()).loadA2ACleanup()
  return cleanupA2ATasksIn(config, options)
}

/** One push-signing key of the relay's A2A endpoint, as `relay a2a-key` prints it (never the private key). */
export interface A2ASigningKeyInfo {
  kid: string
  /** True for the key that signs now; the others are kept in the JWKS for their grace period. */
  current: boolean
}

/**
 * `relay a2a-key list|rotate`: the relay's A2A push-signing keys, in its PostgreSQL database (`--db` or
 * AGENT_COMM_RELAY_DATABASE_URL) or in `<dataDir>/relay.db`, opened with the secrets key the relay seals
 * them with (AGENT_COMM_RELAY_SECRETS_KEY / `--secrets-key-file`, on SQLite else `<dataDir>/secrets.key`).
 * `rotate` makes a new key current at once; the replaced one stays in the JWKS for its grace period, so
 * pushes signed just before still verify. Running replicas re-read the current key within a minute.
 */
export async function relayA2ASigningKeys(
  target: RelaySecretsTarget,
  action: 'list' | 'rotate',
): Promise<{ keys: A2ASigningKeyInfo[]; location: string; rotatedTo?: string }> {
  const runtime = await loadRuntime()
  const [{ A2ASigningKeys, SqliteA2AStore }, { systemClock }] = await Promise.all([
    runtime.loadA2A(),
    import('@agent-comm/protocol'),
  ])
  const postgres = await relayPostgres(target)
  let opened: {
    store: import('@agent-comm/a2a').A2AStore
    sealer: import('@agent-comm/a2a').Sealer
    location: string
    close(): Promise<void>
  }
  if (postgres !== undefined) {
    const { db, config, relaySecretsKey } = postgres
    const [{ PostgresA2AStore }, { redactUrl }] = await Promise.all([
      runtime.loadPostgresA2A(),
      runtime.loadPostgres(),
    ])
    const sealer = relaySecretsKey(config)
    const store = await PostgresA2AStore.connect({ url: db, poolSize: 2, schema: config.postgresSchema })
    opened = { store, sealer, location: redactUrl(db), close: () => store.close() }
  } else {
    const { existsSync } = await import('node:fs')
    const { join } = await import('node:path')
    const dataDir = relayDataDir(target.dataDir)
    const dbPath = join(dataDir, 'relay.db')
    if (!existsSync(dbPath)) {
      throw new CommandFailure('CONFIG', `No relay data in ${dataDir}`, {
        hint: 'Pass the --data-dir the relay runs with (or --db for a relay on PostgreSQL); the relay makes its first signing key when it starts.',
        exitCode: 2,
      })
    }
    const { loadRelayConfig, sqliteRelaySecretsKey } = await import('@agent-comm/relay')
    const argv = [
      '--data-dir',
      dataDir,
      ...(target.secretsKeyFile === undefined ? [] : ['--secrets-key-file', target.secretsKeyFile]),
    ]
    const loaded = loadRelayConfig(argv, process.env, { cwd: process.cwd() })
    if (loaded.help) throw new Error('unreachable: no --help was passed')
    const { Spool } = await import('@agent-comm/spool')
    const spool = await Spool.open({ path: dbPath })
    const store = spool.openShared(SqliteA2AStore.shared())
    const { config } = loaded
    const keyGiven = config.secretsKey !== undefined || config.secretsKeyFile !== undefined
    // Without a key given, `<data-dir>/secrets.key` is made only where the relay's first start would make
    // it: a key sealed already means the relay runs with a key this command was not given.
    if (!keyGiven && !existsSync(join(dataDir, 'secrets.key')) && (await store.signingKeys()).length > 0) {
      await spool.close()
      throw new CommandFailure(
        'CONFIG',
        `The signing keys in ${dbPath} are sealed with a secrets key not given here`,
        {
          hint: 'Set AGENT_COMM_RELAY_SECRETS_KEY (or pass --secrets-key-file) as the relay has it.',
          exitCode: 2,
        },
      )
    }
    const sealer = sqliteRelaySecretsKey(config)
    opened = {
      store,
      sealer,
      location: dbPath,
      close: () => spool.close(),
    }
  }
  try {
    const keys = await A2ASigningKeys.open({ store: opened.store, sealer: opened.sealer, clock: systemClock })
    const rotatedTo = action === 'rotate' ? await keys.rotate() : undefined
    const current = await keys.currentKid()
    const published = (await keys.jwks()).keys
    return {
      keys: published.map((k) => ({ kid: String(k.kid), current: k.kid === current })),
      location: opened.location,
      rotatedTo,
    }
  } finally {
    await opened.close()
  }
}

/** A relay configured and ready to start: `config` says where it will listen and keep its data. */
export interface PreparedRelay {
  config: RelayConfig
  /** Opens the data folder and listens; the relay's JSON log lines go to stderr (stdout is the command's). */
  start(): Promise<RelayHandle>
}

/**
 * Configures the relay as its own bin `agent-comm-relay` would: `argv` holds the relay's flags (`--port
 * 8420` …), the AGENT_COMM_RELAY_* variables fill in the rest; a bad value throws a ConfigError naming the
 * flag or variable. @agent-comm/relay (fastify) is imported here, at run time, so no other command loads it.
 */
export async function prepareRelay(argv: readonly string[]): Promise<PreparedRelay> {
  const { createRelayLogger, loadRelayConfig, startRelay } = await import('@agent-comm/relay')
  const loaded = loadRelayConfig(argv, process.env, { cwd: process.cwd() })
  if (loaded.help) throw new Error('unreachable: the CLI never passes --help to the relay')
  const { config } = loaded
  return {
    config,
    start: () =>
      startRelay(config, {
        logger: createRelayLogger({ level: config.logLevel, destination: process.stderr }),
      }),
  }
}

/** What `agent-comm mcp` serves on. */
export type McpServerSpec =
  | { transport: 'stdio' }
  | { transport: 'http'; port: number; host: string | undefined }

/**
 * Starts the MCP server of @agent-comm/mcp (imported here, at run time: the MCP SDK is not in the runtime
 * bundle) on the database of `--db` / AGENT_COMM_DB_PATH, with the environment of this process. On stdio
 * nothing but protocol frames is written to stdout; logs go to stderr.
 */
export async function startMcpServer(
  spec: McpServerSpec,
  options: {
    db?: string | undefined
    relayDataDir?: string | undefined
    agent?: string | undefined
    allowOtherAgents?: boolean | undefined
    tools?: string | undefined
    channel?: boolean | undefined
    sessionTtlMs?: number | undefined
    token?: string | undefined
    allowedOrigins?: string[] | undefined
  },
): Promise<RunningServer | RunningHttpServer> {
  const { startHttpServer, startStdioServer } = await import('@agent-comm/mcp')
  // Not from the runtime bundle: loading it here would undo the server's lazy start (it answers
  // initialize before it imports the coordinator).
  const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database)
  const cwd = process.cwd()
  const common = {
    env: process.env,
    cwd,
    dbPath: databasePath(options.db, cwd, isPostgresUrl),
    relayDataDir: options.relayDataDir === undefined ? undefined : resolve(cwd, options.relayDataDir),
    agent: options.agent,
    ...(options.allowOtherAgents === true ? { allowOtherAgents: true } : {}),
    tools: options.tools,
    ...(options.channel === true ? { channel: true } : {}),
  }
  return spec.transport === 'http'
    ? startHttpServer({
        ...common,
        port: spec.port,
        sessionTtlMs: options.sessionTtlMs,
        token: options.token,
        allowedOrigins: options.allowedOrigins,
        host: spec.host,
      })
    : startStdioServer(common)
}

/**
 * Log lines go to stderr, so they never mix with the output on stdout that scripts parse. The line format
 * comes from the runtime bundle (protocol's createLineLogger), which is loaded by then anyway.
 */
function stderrLogger(runtime: Runtime, level: LogLevel): Logger {
  return runtime.createLineLogger({ level, write: (line) => process.stderr.write(line) })
}

/** A local console running over this machine's database (see `startLocalConsole` in @agent-comm/relay). */
export type RunningConsole = import('@agent-comm/relay').LocalConsole

/**
 * Starts the human console over the database of `--db` / AGENT_COMM_DB_PATH on 127.0.0.1:`port`: the
 * relay's API and page, in this process, with a one-time login token for `as` (the operator when absent).
 * @agent-comm/relay (fastify) is imported here, at run time, so no other command loads it.
 */
export async function startConsole(options: {
  db?: string | undefined
  port: number
  as?: string | undefined
  /** Create a missing database (`--create`); otherwise a missing one is refused, as by every command but register. */
  create?: boolean | undefined
}): Promise<RunningConsole> {
  const runtime = await loadRuntime()
  const { startLocalConsole, createRelayLogger } = await import('@agent-comm/relay')
  const cwd = process.cwd()
  const config = runtime.loadConfig(process.env, {
    cwd,
    overrides: { dbPath: databasePath(options.db, cwd, runtime.isPostgresUrl) },
  })
  const start = startLocalConsole({
    path: config.dbPath,
    postgresSchema: config.postgresSchema,
    create: options.create === true,
    port: options.port,
    as: options.as,
    logger: createRelayLogger({
      level: config.logLevel === 'debug' ? 'debug' : 'warn',
      destination: process.stderr,
    }),
  })
  // A missing or unwritable database gets the same message as from any other command.
  return start.catch((error: unknown) => {
    throw databaseOpenFailure(error, config.dbPath)
  })
}
