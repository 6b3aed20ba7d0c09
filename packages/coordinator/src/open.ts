import { mkdirSync } from 'node:fs'
import type { Clock, Logger } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { type DatabaseFileOptions, Spool, sqliteConnection } from '@agent-comm/spool'
import { FileTransport } from '@agent-comm/transport-file'
import { SqliteTransport } from '@agent-comm/transport-sqlite'
import type { CoordinatorConfig } from './config.js'
import { Coordinator, type CoordinatorSettings } from './coordinator.js'
import type { TransportFactory } from './routing.js'

/** Extra parts for {@link createCoordinator}; everything has a default. */
export interface CreateCoordinatorOptions {
  clock?: Clock
  logger?: Logger
  /** Transport for agents registered with `transport: http` (from @agent-comm/transport-http). */
  http?: TransportFactory
  settings?: Partial<Pick<CoordinatorSettings, 'allowUnregistered'>>
  /**
   * How the database file may be opened: `create: false` refuses a missing file instead of creating an
   * empty one (what read commands want); `allowForeignTables` accepts a file of another application.
   */
  database?: DatabaseFileOptions
}

/**
 * The default local setup: a spool on `config.dbPath`, the registry in the same file, the SQLite transport
 * for local agents and file transports for `file` agents. Close the coordinator to close them all.
 */
export async function createCoordinator(
  config: CoordinatorConfig,
  options: CreateCoordinatorOptions = {},
): Promise<Coordinator> {
  const clock = options.clock
  const spool = await Spool.open({
    ...options.database,
    path: config.dbPath,
    leaseSeconds: config.leaseSeconds,
    ...(clock ? { clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  })
  try {
    const registry = await Registry.open({ sqlite: sqliteConnection(spool), ...(clock ? { clock } : {}) })
    const sqlite = new SqliteTransport(spool)
    const fileTransport = (root: string) => {
      mkdirSync(root, { recursive: true })
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
        ...(options.http === undefined ? {} : { http: options.http }),
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
        await registry.close()
        await spool.close()
      },
    })
  } catch (error) {
    await spool.close()
    throw error
  }
}
