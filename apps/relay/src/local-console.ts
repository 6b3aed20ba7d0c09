import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { PostgresDatabase } from '@agent-comm/postgres'
import {
  AgentIdSchema,
  AgentNotFoundError,
  type Clock,
  closeOnFailure,
  DEFAULT_OPERATOR_ID,
  ValidationError,
} from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { createRelay } from './app.js'
import type { RelayConsoleOptions } from './console-mount.js'
import { issueConsoleLoginToken } from './console-mount.js'
import type { ConsoleStore } from './console-store.js'
import type { NonceStore } from './nonces.js'

/** What {@link startLocalConsole} serves. */
export interface LocalConsoleOptions {
  /**
   * The local database: a SQLite file or PostgreSQL URL, opened here and closed with the console (the
   * same `AGENT_COMM_DB_PATH` the CLI uses). Or give `spool` and `registry`, which stay open for their owner.
   */
  path?: string
  /** On PostgreSQL: the schema holding the tables (`agent_comm`), as `AGENT_COMM_PG_SCHEMA` gives it. */
  postgresSchema?: string
  /** Create a missing database file at `path` (false: a missing one is a StorageError, reason `missing`). */
  create?: boolean
  spool?: Spool
  registry?: Registry
  /**
   * The console's sessions and audit log, for a `spool` given on PostgreSQL (closed with the console).
   * Opened here for a PostgreSQL `path`; on SQLite they share the spool's file.
   */
  consoleStore?: ConsoleStore
  /** Port on 127.0.0.1 (0: any free one). */
  port: number
  /**
   * Who the one-time token signs in as: a registered agent (a person), or (default) the operator `admin`.
   * An invalid id is a ValidationError, an unregistered one an AgentNotFoundError, before anything listens.
   */
  as?: string
  clock?: Clock
  logger?: FastifyBaseLogger
  console?: RelayConsoleOptions
}

/** A running local console. */
export interface LocalConsole {
  app: FastifyInstance
  /** The page's address with a one-time login token in its fragment (never sent to a server log). */
  loginUrl: string
  /** Base URL, e.g. `http://127.0.0.1:8421`. */
  url: string
  /** A further one-time login URL (each works once). */
  newLoginUrl(): string
  close(): Promise<void>
}

// The local console signs nothing: no agent has a secret, so no signed request can pass, and no nonce is kept.
const NO_NONCES: NonceStore = {
  remember: () => false,
  prune: () => 0,
  flush: () => undefined,
  close: () => undefined,
}

/**
 * The console over a local database: the relay's API and page on 127.0.0.1 only, with no agent secrets
 * (nothing can sign in but the holder of a one-time token), the same API as a relay's console.
 */
export async function startLocalConsole(options: LocalConsoleOptions): Promise<LocalConsole> {
  const asAgent = options.as ?? DEFAULT_OPERATOR_ID
  const asId = options.as === undefined ? undefined : AgentIdSchema.safeParse(options.as)
  if (asId?.success === false) {
    const problem = asId.error.issues[0]?.message ?? 'not an agent id'
    throw new ValidationError(
      `Invalid agent id '${options.as}' to sign in as: ${problem}`,
      [{ path: 'as', message: problem }],
      {
        hint: 'Give the id of a registered person (agent-comm agents lists them), or leave --as out to sign in as the operator.',
      },
    )
  }
  const owned = options.spool === undefined
  let spool = options.spool
  let registry = options.registry
  let consoleStore = options.consoleStore
  let postgres: PostgresDatabase | undefined
  if (spool === undefined) {
    if (options.path === undefined) throw new Error('startLocalConsole needs a path or a spool and registry')
    if (/^postgres(ql)?:\/\//i.test(options.path)) {
      // Loaded here only: drizzle-orm and pg are not for a console over a SQLite file.
      const { openPostgres, openPostgresConsoleStore } = await import('@agent-comm/postgres')
      // The spool, the registry and the console's tables in one schema of that database.
      const schema = options.postgresSchema
      const url = options.path
      postgres = await openPostgres({ url, schema, clock: options.clock })
      spool = postgres.spool
      registry ??= postgres.registry
      const opened = postgres
      consoleStore ??= await closeOnFailure(
        () => opened.close(),
        () => openPostgresConsoleStore({ url, schema }),
      )
    } else {
      spool = await Spool.open({ path: options.path, create: options.create ?? false, clock: options.clock })
    }
  }
  try {
    registry ??= await Registry.open({ spool, clock: options.clock })
    // A typo of a person's id would open on an empty inbox with nothing saying why: refused before it listens.
    if (options.as !== undefined && (await registry.get(options.as)) === undefined) {
      throw new AgentNotFoundError(options.as, {
        hint: `agent-comm agents lists the registered agents; register the person first: agent-comm register ${options.as} -c human-review -d <device>`,
      })
    }
  } catch (error) {
    if (owned) {
      if (postgres !== undefined) {
        // The console store was opened here with the database (options.consoleStore is the caller's).
        if (options.consoleStore === undefined) await consoleStore?.close()
        await postgres.close()
      } else {
        if (options.registry === undefined) await registry?.close()
        await spool.close()
      }
    }
    throw error
  }
  const app = await createRelay({
    spool,
    registry,
    secrets: { secretsFor: () => [] },
    nonces: NO_NONCES,
    consoleStore,
    clock: options.clock,
    logger: options.logger,
    options: {
      // Signed in as a human agent, nobody is the operator: the admin id is one no agent can have.
      admin: { agentId: options.as === undefined ? DEFAULT_OPERATOR_ID : 'console:no-operator' },
      rateLimit: false,
      // A cookie name of its own: a relay console, or another local console, on this host keeps its session.
      console: {
        cookieName: `agent_comm_local_console_${randomBytes(6).toString('hex')}`,
        ...options.console,
      },
    },
  })
  if (owned) {
    const openedSpool = spool
    const openedRegistry = registry
    const openedPostgres = postgres
    app.addHook('onClose', async () => {
      if (openedPostgres !== undefined) {
        await openedPostgres.close()
        return
      }
      await openedRegistry.close()
      await openedSpool.close()
    })
  }
  try {
    await app.listen({ host: '127.0.0.1', port: options.port })
  } catch (error) {
    await app.close()
    throw error
  }
  const port = (app.server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`
  const newLoginUrl = () =>
    `${url}/console/#token=${issueConsoleLoginToken(app, asAgent, options.as === undefined)}`
  return { app, url, loginUrl: newLoginUrl(), newLoginUrl, close: () => app.close() }
}
