import { readFileSync, statfsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { A2AStore, Sealer } from '@agent-comm/a2a'
// Only the secrets key is needed on SQLite: the rest of @agent-comm/postgres (drizzle-orm, pg — about 120
// modules, seconds of start-up on a busy machine) is imported when the relay opens a PostgreSQL database.
import { RelaySecretsKey } from '@agent-comm/postgres/secrets-key'
import { type Clock, ConfigError, closeOnFailure, type Logger, StorageError } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { type RelaySecretStore, SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import type { RelayConfig } from './config.js'
import type { ConsoleStore } from './console-store.js'
import type { RelaySecrets } from './context.js'
import { secureDataFolder } from './data-folder.js'
import { type NonceStore, SqliteNonceStore } from './nonces.js'

/** File name of the relay's database inside its data folder. */
export const RELAY_DB_FILE = 'relay.db'

/** File of the secrets key a relay on SQLite makes for itself when none is given (in its data folder). */
export const RELAY_SECRETS_KEY_FILE = 'secrets.key'

/** Everything a relay keeps, on one SQLite file or on a PostgreSQL database its replicas share. */
export interface RelayStorage {
  spool: Spool
  registry: Registry
  secrets: RelaySecrets & Pick<RelaySecretStore, 'generate' | 'rotate' | 'revoke' | 'list'>
  nonces: NonceStore
  /** The A2A endpoint's store when the spool is not SQLite (on SQLite it shares the spool's file). */
  a2a?: A2AStore
  /** Seals the A2A push-signing private key in the database: the relay's secrets key. */
  a2aSealer: Sealer
  /** The console's sessions and audit log when the spool is not SQLite (on SQLite they share its file). */
  console?: ConsoleStore
  /** Where the data is, safe to print: the data folder, or the URL without its password. */
  location: string
  /** Resolves when the database answers; rejects when it does not (readiness). */
  ping(): Promise<void>
  /** Closes the stores (nonces, registry, secrets, spool). */
  close(): Promise<void>
}

/**
 * Opens the relay's storage from its config: on PostgreSQL when `databaseUrl` is set (the secrets key is
 * then required), otherwise `<dataDir>/relay.db` and `<dataDir>/secrets.json`.
 */
export async function openRelayStorage(
  config: RelayConfig,
  deps: { clock?: Clock; logger: Logger },
): Promise<RelayStorage> {
  return config.databaseUrl === undefined
    ? openSqliteStorage(config, deps)
    : openPostgresStorage(config, config.databaseUrl, deps)
}

/**
 * The key agents' secrets are sealed under, from `AGENT_COMM_RELAY_SECRETS_KEY` or `--secrets-key-file`;
 * a `ConfigError` saying what to set when there is none or it is not 32 bytes of base64. Given a logger,
 * a key file that other users may read is logged as a warning (see `warnIfReadableByOthers`).
 */
export function relaySecretsKey(
  config: Pick<RelayConfig, 'secretsKey' | 'secretsKeyFile'>,
  logger?: Logger,
): RelaySecretsKey {
  if (config.secretsKey !== undefined) {
    return RelaySecretsKey.fromBase64(config.secretsKey, 'AGENT_COMM_RELAY_SECRETS_KEY')
  }
  if (config.secretsKeyFile !== undefined) {
    let text: string
    try {
      text = readFileSync(config.secretsKeyFile, 'utf8')
    } catch (error) {
      throw new ConfigError(
        `Cannot read the secrets key file ${config.secretsKeyFile}: ${(error as Error).message}`,
        { hint: 'Check the path given to --secrets-key-file (AGENT_COMM_RELAY_SECRETS_KEY_FILE).' },
      )
    }
    if (logger !== undefined) warnIfReadableByOthers(config.secretsKeyFile, logger)
    return RelaySecretsKey.fromBase64(text, `The secrets key file ${config.secretsKeyFile}`)
  }
  throw new ConfigError(
    "A relay on PostgreSQL needs the key that encrypts agents' secrets in the database, and none was given",
    {
      hint: 'Set AGENT_COMM_RELAY_SECRETS_KEY to 32 random bytes in base64 (openssl rand -base64 32), the same on every replica and for the relay commands, or pass --secrets-key-file <file>.',
    },
  )
}

/**
 * The secrets key opens every agent's secret and the A2A push-signing key, so a key file that group or
 * others may read is logged, naming the file and the chmod to run. A warning, not a refusal, and the mode
 * left alone (unlike secrets.json, which the relay owns and resets to 0600): the file is the operator's,
 * and the usual ways of handing one to a process mount it readable by others on purpose (a Kubernetes
 * Secret volume is 0644 by default, a Docker secret 0444) on a filesystem that is often read-only; the
 * data folder's rule is the same. The key is never logged, only its file's path and mode.
 */
function warnIfReadableByOthers(file: string, logger: Logger): void {
  if (process.platform === 'win32') return
  const mode = statSync(file).mode & 0o777
  if ((mode & 0o077) === 0) return
  logger.warn(
    { path: file, mode: `0${mode.toString(8)}` },
    `the secrets key file ${file} is readable by other users; restrict it: chmod 600 ${file}`,
  )
}

/**
 * The secrets key of a relay on SQLite, which seals its A2A push-signing key in `relay.db`: the one
 * given (`AGENT_COMM_RELAY_SECRETS_KEY`, `--secrets-key-file`), else `<dataDir>/secrets.key`, made (0600)
 * on first start. Kept apart from the database, so a copy of `relay.db` alone cannot sign as the relay.
 */
export function sqliteRelaySecretsKey(
  config: Pick<RelayConfig, 'secretsKey' | 'secretsKeyFile' | 'dataDir'>,
  logger?: Logger,
): RelaySecretsKey {
  if (config.secretsKey !== undefined || config.secretsKeyFile !== undefined) {
    return relaySecretsKey(config, logger)
  }
  const file = join(config.dataDir, RELAY_SECRETS_KEY_FILE)
  try {
    // 'wx': two relays starting on one folder at once cannot both write one; the loser reads the winner's.
    writeFileSync(file, `${RelaySecretsKey.generate().toBase64()}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error
  }
  return relaySecretsKey({ secretsKeyFile: file }, logger)
}

/**
 * Readiness of a relay on SQLite also needs room to write: a full disk still answers reads, but sends and
 * acks fail. Room for the largest body the relay accepts is the bar (one statfs, cheap enough for every
 * probe); below it the replica is reported unavailable, as the requests it would get are answered 503.
 */
function assertRoomFor(folder: string, bytes: number): void {
  let free: number
  try {
    const stats = statfsSync(folder)
    free = stats.bavail * stats.bsize
  } catch {
    // A filesystem that cannot say: the read above is the probe.
    return
  }
  if (free < bytes) {
    throw new StorageError(`The disk holding ${folder} is full (${free} bytes free)`, {
      hint: 'Free space on it, or remove old messages (agent-comm cleanup).',
      details: { reason: 'full', freeBytes: free },
      transient: true,
    })
  }
}

async function openSqliteStorage(
  config: RelayConfig,
  deps: { clock?: Clock; logger: Logger },
): Promise<RelayStorage> {
  const { clock, logger } = deps
  const dbPath = join(config.dataDir, RELAY_DB_FILE)
  secureDataFolder(config.dataDir, dbPath, logger)
  const a2aSealer = sqliteRelaySecretsKey(config, logger)
  const spool = await Spool.open({ path: dbPath, leaseSeconds: config.leaseSeconds, logger, clock })
  return closeOnFailure(
    () => spool.close(),
    async () => {
      // The relay's spool holds the deliveries of every agent registered with it, whatever transport its
      // profile names: each is given the held group messages it matches when it registers.
      const registry = await Registry.open({ spool, releaseHeldTo: 'all-agents', clock })
      // Looked at once per turn of the event loop: one `stat` for every request read in a turn, not one each.
      const secrets = await SecretStore.open({
        path: SecretStore.fileIn(config.dataDir),
        logger,
        clock,
        recheck: 'turn',
      })
      const nonces = spool.openShared(
        SqliteNonceStore.shared({ logger, windowMs: config.authWindowSeconds * 1000, clock }),
      )
      return {
        spool,
        registry,
        secrets,
        nonces,
        a2aSealer,
        location: config.dataDir,
        ping: async () => {
          await spool.ping()
          assertRoomFor(config.dataDir, config.bodyLimitBytes)
        },
        close: async () => {
          await nonces.close()
          await registry.close()
          await spool.close()
        },
      }
    },
  )
}

async function openPostgresStorage(
  config: RelayConfig,
  url: string,
  deps: { clock?: Clock; logger: Logger },
): Promise<RelayStorage> {
  const { clock, logger } = deps
  // The key first: a replica without it refuses to start before touching the database.
  const key = relaySecretsKey(config, logger)
  const [{ openPostgres, openPostgresConsoleStore, openPostgresRelayStores }, { PostgresA2AStore }] =
    await Promise.all([import('@agent-comm/postgres'), import('@agent-comm/postgres/a2a')])
  const schema = config.postgresSchema
  const database = await openPostgres({
    url,
    schema,
    poolSize: config.postgresPoolSize,
    claimCommit: config.postgresClaimCommit,
    logger,
    clock,
    spool: { leaseSeconds: config.leaseSeconds },
    registry: { releaseHeldTo: 'all-agents' },
  })
  const cleanup: (() => Promise<void>)[] = []
  try {
    const a2a = await PostgresA2AStore.connect({ url, schema, logger })
    cleanup.push(() => a2a.close())
    const consoleStore = await openPostgresConsoleStore({ url, schema, logger })
    // Closed by the relay's console (onClose); this undo is for a failure before the relay exists.
    cleanup.push(() => consoleStore.close())
    const stores = await openPostgresRelayStores({
      url,
      schema,
      key,
      windowMs: config.authWindowSeconds * 1000,
      nonceCommit: config.postgresNonceCommit,
      logger,
      // Nonce expiry and rotation grace on the spool's clock: the server's time unless a clock is injected.
      clock: clock ?? database.spool.clock,
    })
    return {
      spool: database.spool,
      registry: database.registry,
      secrets: stores.secrets,
      nonces: stores.nonces,
      a2a,
      a2aSealer: key,
      console: consoleStore,
      location: database.location,
      ping: () => stores.ping(),
      close: async () => {
        await a2a.close()
        await consoleStore.close()
        await stores.close()
        await database.close()
      },
    }
  } catch (error) {
    for (const undo of cleanup) await undo()
    await database.close()
    throw error
  }
}
