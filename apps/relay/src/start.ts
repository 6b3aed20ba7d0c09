import type { AddressInfo } from 'node:net'
import { SqliteA2AStore } from '@agent-comm/a2a'
import { type Clock, systemClock } from '@agent-comm/protocol'
import type { FastifyInstance } from 'fastify'
import type pino from 'pino'
import { createRelay } from './app.js'
import type { RelayConfig } from './config.js'
import { createRelayLogger } from './logger.js'
import { type RetentionOptions, startRetention } from './retention.js'
import { openRelayStorage, type RelayStorage } from './storage.js'

/** A running relay. */
export interface RelayHandle {
  /** The fastify instance (for `inject` in tests). */
  app: FastifyInstance
  /** Where it listens; `port` is the real one when the config asked for 0. */
  address: { host: string; port: number }
  /** Base URL for clients on this machine, e.g. `http://127.0.0.1:8420`. */
  url: string
  /** The secret store it authenticates against (`<dataDir>/secrets.json`, or sealed in PostgreSQL). */
  secrets: RelayStorage['secrets']
  /**
   * Stops accepting connections, ends long polls and event streams, waits for requests in flight — at
   * most `shutdownGraceMs`, then the connections left are cut — and closes the database. Safe to call twice.
   */
  close(): Promise<void>
}

/** Parts a caller may supply instead of the defaults (tests inject a fake clock and capture logs). */
export interface StartRelayDeps {
  clock?: Clock
  /** A pino logger (default: JSON lines on stdout at `config.logLevel`, secrets redacted). */
  logger?: pino.Logger
  /**
   * How long `close` waits for requests in flight before cutting the connections left (20 000 ms): a
   * client that never finishes sending its request (headers trickled in, a body that never comes) must
   * not hold a stopping relay up.
   */
  shutdownGraceMs?: number
  /** When the retention cleanup runs (tests shorten it; see `startRetention`). */
  retention?: Pick<RetentionOptions, 'intervalMs' | 'firstRunMs'>
}

const DAY_MS = 86_400_000

/** Default of {@link StartRelayDeps.shutdownGraceMs}: well inside the 30 s supervisors usually wait. */
const SHUTDOWN_GRACE_MS = 20_000

/**
 * Starts a relay from `config`: the spool and registry on `<dataDir>/relay.db`, nonces in the same file,
 * secrets in `<dataDir>/secrets.json` (the database files and the secrets created 0600) — or, with
 * `databaseUrl`, all of them on PostgreSQL as one replica of many (secrets sealed under the secrets key) —
 * listening on `config.host:config.port`. The composition root of the relay; the bin adds signal handling.
 */
export async function startRelay(config: RelayConfig, deps: StartRelayDeps = {}): Promise<RelayHandle> {
  const logger = deps.logger ?? createRelayLogger({ level: config.logLevel })
  const clock = deps.clock
  const graceMs = deps.shutdownGraceMs ?? SHUTDOWN_GRACE_MS
  const storage = await openRelayStorage(config, { clock, logger })
  const { spool, registry, secrets, nonces } = storage
  let app: FastifyInstance | undefined
  try {
    app = await createRelay({
      spool,
      registry,
      secrets,
      nonces,
      logger,
      ready: () => storage.ping(),
      a2aStore: storage.a2a,
      a2aSealer: storage.a2aSealer,
      consoleStore: storage.console,
      clock,
      options: {
        authWindowMs: config.authWindowSeconds * 1000,
        bodyLimitBytes: config.bodyLimitBytes,
        requestTimeoutMs: config.requestTimeoutSeconds * 1000,
        rateLimit:
          config.rateLimitPerMinute === 0 ? false : { max: config.rateLimitPerMinute, timeWindowMs: 60_000 },
        maxRecipientsPerMessage: config.maxRecipientsPerMessage,
        maxDeliveriesPerRequest: config.maxDeliveriesPerRequest,
        trustProxy: config.trustProxy,
        publicUrl: config.publicUrl,
        audience: config.audience,
        requireAudience: config.requireAudience,
        a2a: {
          pushAllowPrivate: config.a2aPushAllow === true,
          pushAllowHosts: config.a2aPushAllow === true ? [] : [...(config.a2aPushAllow ?? [])],
          maxWaitsPerCaller: config.a2aMaxWaitsPerCaller,
        },
        maxWaitsPerAgent: config.maxWaitsPerAgent,
        overload: {
          maxEventLoopDelayMs: config.maxEventLoopDelayMs,
          maxEventLoopUtilization: config.maxEventLoopUtilization,
          maxHeapUsedBytes: config.maxHeapUsedBytes,
          maxRssBytes: config.maxRssBytes,
        },
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
    // Stopped before the database closes: a cleanup in progress finishes first.
    const retention =
      config.retentionDays === 0
        ? undefined
        : startRetention({
            spool,
            retentionMs: config.retentionDays * DAY_MS,
            logger,
            // The A2A endpoint's tasks: in the spool's own file on SQLite, else in the store opened for them.
            a2a: {
              store: storage.a2a ?? spool.openShared(SqliteA2AStore.shared()),
              clock: clock ?? systemClock,
            },
            ...deps.retention,
          })
    running.addHook('preClose', async () => retention?.stop())
    running.addHook('onClose', () => storage.close())
    await running.listen({ port: config.port, host: config.host })
    const address = running.server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    const url = `http://${host}:${address.port}`
    logger.info({ url, data: storage.location }, 'relay listening')
    let closed: Promise<void> | undefined
    return {
      app: running,
      address: { host: address.address, port: address.port },
      url,
      secrets,
      close: () => {
        closed ??= (async () => {
          // Real time, not the injected clock: this bounds how long a stop may take.
          const cut = setTimeout(() => {
            logger.warn({ graceMs }, 'requests still unfinished after the grace period: connections cut')
            running.server.closeAllConnections()
          }, graceMs)
          try {
            await running.close()
          } finally {
            clearTimeout(cut)
          }
          logger.info({ url }, 'relay stopped')
        })()
        return closed
      },
    }
  } catch (error) {
    if (app !== undefined) await app.close()
    else await storage.close()
    throw error
  }
}
