import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Clock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { Spool, sqliteConnection } from '@agent-comm/spool'
import { SecretStore } from '@agent-comm/transport-http/secrets'
import type { FastifyInstance } from 'fastify'
import type pino from 'pino'
import { createRelay } from './app.js'
import type { RelayConfig } from './config.js'
import { secureDataFolder } from './data-folder.js'
import { createRelayLogger } from './logger.js'
import { SqliteNonceStore } from './nonces.js'

/** File name of the relay's database inside its data folder. */
export const RELAY_DB_FILE = 'relay.db'

/** A running relay. */
export interface RelayHandle {
  /** The fastify instance (for `inject` in tests). */
  app: FastifyInstance
  /** Where it listens; `port` is the real one when the config asked for 0. */
  address: { host: string; port: number }
  /** Base URL for clients on this machine, e.g. `http://127.0.0.1:8420`. */
  url: string
  /** The secret store it authenticates against (`<dataDir>/secrets.json`). */
  secrets: SecretStore
  /**
   * Stops accepting connections, ends long polls and event streams, waits for requests in flight, then
   * closes the database. Safe to call twice.
   */
  close(): Promise<void>
}

/** Parts a caller may supply instead of the defaults (tests inject a fake clock and capture logs). */
export interface StartRelayDeps {
  clock?: Clock
  /** A pino logger (default: JSON lines on stdout at `config.logLevel`, secrets redacted). */
  logger?: pino.Logger
}

/**
 * Starts a relay from `config`: the spool and registry on `<dataDir>/relay.db`, nonces in the same file,
 * secrets in `<dataDir>/secrets.json` (the database files and the secrets created 0600), listening on `config.host:config.port`. The
 * composition root of the relay; the bin adds signal handling.
 */
export async function startRelay(config: RelayConfig, deps: StartRelayDeps = {}): Promise<RelayHandle> {
  const logger = deps.logger ?? createRelayLogger({ level: config.logLevel })
  const dbPath = join(config.dataDir, RELAY_DB_FILE)
  secureDataFolder(config.dataDir, dbPath, logger)
  const clock = deps.clock
  const spool = await Spool.open({
    path: dbPath,
    leaseSeconds: config.leaseSeconds,
    logger,
    ...(clock === undefined ? {} : { clock }),
  })
  let app: FastifyInstance | undefined
  try {
    // The relay's spool holds the deliveries of every agent registered with it, whatever transport its
    // profile names: each is given the held group messages it matches when it registers.
    const registry = await Registry.open({
      spool,
      releaseHeldTo: 'all-agents',
      ...(clock === undefined ? {} : { clock }),
    })
    const secrets = await SecretStore.open({
      path: SecretStore.fileIn(config.dataDir),
      logger,
      ...(clock === undefined ? {} : { clock }),
    })
    const nonces = SqliteNonceStore.open(sqliteConnection(spool), {
      logger,
      windowMs: config.authWindowSeconds * 1000,
      ...(clock === undefined ? {} : { clock }),
    })
    app = await createRelay({
      spool,
      registry,
      secrets,
      nonces,
      logger,
      ...(clock === undefined ? {} : { clock }),
      options: {
        authWindowMs: config.authWindowSeconds * 1000,
        bodyLimitBytes: config.bodyLimitBytes,
        rateLimit:
          config.rateLimitPerMinute === 0 ? false : { max: config.rateLimitPerMinute, timeWindowMs: 60_000 },
        maxRecipientsPerMessage: config.maxRecipientsPerMessage,
        maxDeliveriesPerRequest: config.maxDeliveriesPerRequest,
        trustProxy: config.trustProxy,
        ...(config.audience === undefined ? {} : { audience: config.audience }),
        requireAudience: config.requireAudience,
        authFailureLimit:
          config.authFailuresPerMinute === 0
            ? false
            : { max: config.authFailuresPerMinute, timeWindowMs: 60_000 },
        admin: {
          agentId: config.adminId,
          secrets: config.adminSecret === undefined ? [] : [config.adminSecret],
        },
      },
    })
    const running = app
    running.addHook('onClose', async () => {
      await nonces.close()
      await registry.close()
      await spool.close()
    })
    await running.listen({ port: config.port, host: config.host })
    const address = running.server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    const url = `http://${host}:${address.port}`
    logger.info({ url, dataDir: config.dataDir }, 'relay listening')
    let closed: Promise<void> | undefined
    return {
      app: running,
      address: { host: address.address, port: address.port },
      url,
      secrets,
      close: () => {
        closed ??= running.close().then(() => logger.info({ url }, 'relay stopped'))
        return closed
      },
    }
  } catch (error) {
    if (app !== undefined) await app.close()
    else await spool.close()
    throw error
  }
}
