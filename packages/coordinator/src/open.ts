import { type Clock, closeOnFailure, type Logger } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { type DatabaseFileOptions, refuseSqliteFileOptions, Spool } from '@agent-comm/spool'
import { SqliteTransport } from '@agent-comm/transport-sqlite'
import type { CoordinatorConfig } from './config.js'
import { Coordinator, type CoordinatorSettings } from './coordinator.js'
import { isPostgresUrl } from './database-url.js'
import { loadFileTransport } from './deferred-imports.js'
import type { TransportFactory } from './routing.js'

/** Extra parts for {@link createCoordinator}; everything has a default. */
export interface CreateCoordinatorOptions {
  clock?: Clock | undefined
  logger?: Logger | undefined
  /** Transport for agents registered with `transport: http` (from @agent-comm/transport-http). */
  http?: TransportFactory | undefined
  settings?: Partial<Pick<CoordinatorSettings, 'allowUnregistered'>> | undefined
  /**
   * How the database file may be opened: `create: false` refuses a missing file instead of creating an
   * empty one (what read commands want; on PostgreSQL a schema without agent-comm's tables);
   * `allowForeignTables` accepts a file of another application. With a PostgreSQL URL, `readonly: true`
   * and `allowForeignTables: true` are refused with a `ValidationError`.
   */
  database?: DatabaseFileOptions | undefined
}

/**
 * The default local setup: a spool on `config.dbPath`, the registry beside it, the SQLite transport (which
 * works on any spool) for agents receiving through the database and file transports for `file` agents.
 * `config.dbPath` is a SQLite file (the registry in the same file), or a `postgres://` / `postgresql://`
 * URL: then `@agent-comm/postgres` is loaded (only then, so SQLite start-up pays nothing) and opens both on
 * one pool, in `config.postgresSchema`. Close the coordinator to close them all.
 */
export async function createCoordinator(
  config: CoordinatorConfig,
  options: CreateCoordinatorOptions = {},
): Promise<Coordinator> {
  const clock = options.clock
  const { spool, registry } = isPostgresUrl(config.dbPath)
    ? await openOnPostgres(config, options)
    : await openOnSqlite(config, options)
  const closeStores = async () => {
    await registry.close()
    await spool.close()
  }
  return closeOnFailure(closeStores, () => {
    const sqlite = new SqliteTransport(spool)
    // The file transport makes its root itself, safely (a recursive mkdir here spun forever under /proc).
    const fileTransport = (root: string) => {
      // Loaded here, on first use: a coordinator whose agents all receive through SQLite never needs it.
      const { FileTransport } = loadFileTransport()
      return new FileTransport({
        root,
        leaseSeconds: config.leaseSeconds,
        ...(clock ? { clock } : {}),
        // Delivery files it cannot read are reported here.
        ...(options.logger ? { logger: options.logger } : {}),
      })
    }
    const defaultFile = config.defaultTransport === 'file' ? fileTransport(config.fileRoot) : undefined
    return new Coordinator({
      spool,
      registry,
      transports: {
        sqlite,
        file: (profile) => fileTransport(profile.inboxDir ?? config.fileRoot),
        http: options.http,
      },
      ...(defaultFile === undefined
        ? {}
        : { defaultRoute: { kind: 'file' as const, transport: defaultFile } }),
      ...(config.defaultTransport === 'file'
        ? { registrationDefaults: { transport: 'file' as const, inboxDir: config.fileRoot } }
        : {}),
      ...(clock ? { clock } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      settings: { ttlHours: config.ttlHours, leaseSeconds: config.leaseSeconds, ...options.settings },
      onClose: async () => {
        await defaultFile?.close()
        await closeStores()
      },
    })
  })
}

async function openOnSqlite(
  config: CoordinatorConfig,
  options: CreateCoordinatorOptions,
): Promise<{ spool: Spool; registry: Registry }> {
  const clock = options.clock
  const spool = await Spool.open({
    ...options.database,
    path: config.dbPath,
    leaseSeconds: config.leaseSeconds,
    ...(clock ? { clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  })
  const registry = await closeOnFailure(
    () => spool.close(),
    () => Registry.open({ spool, ...(clock ? { clock } : {}) }),
  )
  return { spool, registry }
}

/**
 * The SQLite file options do not apply to a server: `readonly: true` and `allowForeignTables: true` are
 * refused (`ValidationError`) rather than ignored; `create: false` refuses a schema that holds no
 * agent-comm database instead of creating it.
 */
async function openOnPostgres(
  config: CoordinatorConfig,
  options: CreateCoordinatorOptions,
): Promise<{ spool: Spool; registry: Registry }> {
  refuseSqliteFileOptions(options.database ?? {})
  const { openPostgres } = await import('@agent-comm/postgres')
  const { spool, registry } = await openPostgres({
    url: config.dbPath,
    schema: config.postgresSchema,
    poolSize: config.postgresPoolSize,
    ...(options.database?.create === false ? { create: false } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    spool: { leaseSeconds: config.leaseSeconds },
  })
  return { spool, registry }
}
