import { createHash } from 'node:crypto'
import type { Logger } from '@agent-comm/protocol'
// The zod-free subpaths of the protocol: the inbox hook loads this file on every prompt of an assistant.
import { DEFAULT_POOL_SIZE } from '@agent-comm/protocol/bounds'
import { ClosedError, ConfigError } from '@agent-comm/protocol/errors'
import { urlPassword } from '@agent-comm/protocol/redact-url'
import pg from 'pg'
import type { SqlClient, SqlQueryable } from '../client.js'
import { SCHEMA_SETTINGS } from '../schema-check.js'
import { malformedUrl, redactUrl, type StorageFailureReason, toStorageError } from './driver-errors.js'

/** Options of {@link createNodePostgresClient}. */
export interface NodePostgresClientOptions {
  /** A `postgres://user:password@host:port/database` URL. Its password is never logged or put in errors. */
  url: string
  /** Most connections the pool opens (listeners use one more each). Default 10. */
  poolSize?: number
  /** Receives reconnects and background connection errors. */
  logger?: Logger
  /** Waits between listener reconnect attempts: starts at `initialMs`, doubles up to `maxMs`. */
  reconnectDelay?: { initialMs: number; maxMs: number }
  /** How long opening one connection may take before it counts as unreachable. Default 30 s. */
  connectTimeoutMs?: number
  /**
   * Longest a statement of the pool may run before the server cancels it (`statement_timeout`; the
   * `timeout` failure reason). Default: the server's setting.
   */
  statementTimeoutMs?: number
  /**
   * Run statements that have parameters as named (server-side prepared) statements, parsed once per
   * connection. bench/drivers.bench.mjs, send → claim → ack one at a time with synchronous_commit off on a
   * loaded 2-core machine: 2,220 cycles/s named vs 675 unnamed (postgres.js prepared: 1,975); with durable
   * commits the WAL flush dominates and all sit near 100. Turn off behind PgBouncer in transaction mode,
   * which cannot keep prepared statements. Default: the URL's `prepare=` (see {@link urlPrepare}), else true.
   */
  prepare?: boolean
}

const INT8_OID = 20

// A per-client type parser: int8 (bigint, count(*)) as a JS number. Every int8 the stores keep — ms
// timestamps, sequence numbers — is below 2^53. The global pg.types is left alone, so other pg users in
// the same process keep their own parsing.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value)
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/** `sslmode` values node-postgres 8 verifies as `verify-full`, printing a deprecation warning for each. */
const VERIFIED_AS_FULL = new Set(['prefer', 'require', 'verify-ca'])

/**
 * The URL handed to node-postgres: `sslmode=prefer|require|verify-ca` written as `verify-full`, which is
 * what node-postgres 8 does with them anyway (the server's certificate and host name are verified) — said
 * in the URL, it does not print its "SECURITY WARNING" about a future change to weaker libpq semantics on
 * every command. A URL that asks for libpq's semantics (`uselibpqcompat=true`) or is not a URL is left as
 * it is, for node-postgres to apply or refuse.
 */
export function nodePostgresUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  const params = parsed.searchParams
  const mode = params.get('sslmode')
  const verifiedAsFull = mode !== null && VERIFIED_AS_FULL.has(mode) && !params.has('uselibpqcompat')
  if (!verifiedAsFull && !params.has(PREPARE_PARAM)) return url
  if (verifiedAsFull) params.set('sslmode', 'verify-full')
  // agent-comm's own parameter (see urlPrepare): read by this adapter, never sent to the server.
  params.delete(PREPARE_PARAM)
  return parsed.href
}

/**
 * The URL's own switch for prepared statements, `prepare=false` (or `true`): behind a pooler in
 * transaction mode the URL is what every agent-comm process is given (CLI, MCP server, relay replicas,
 * bridges), so the setting travels with it. Undefined when the URL does not say.
 */
const PREPARE_PARAM = 'prepare'

export function urlPrepare(url: string): boolean | undefined {
  const value = queryParams(url)?.get(PREPARE_PARAM)
  if (value === 'true') return true
  if (value === 'false') return false
  return undefined
}

/**
 * TCP keepalive on every connection, first probe after 10 s idle: a server that vanished without closing
 * the connection (a host powered off, a network partition) is noticed by the kernel's probes instead of
 * never — what an idle LISTEN connection would otherwise do. (The probes' interval and count are the
 * system's: about 11 minutes on Linux defaults; `net.ipv4.tcp_keepalive_intvl`/`_probes` shorten it.)
 */
const KEEP_ALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * Throws `ConfigError` when node-postgres cannot parse `url` (a port that is not a number from 1 to 65535,
 * an unclosed IPv6 bracket…), which it would otherwise report only at the first query, as `Invalid URL`.
 * Parsed by node-postgres's own parser (building a client connects nothing), so exactly the URLs it
 * accepts pass. The message shows the URL without its password.
 */
export function checkNodePostgresUrl(url: string): void {
  try {
    new pg.Client({ connectionString: nodePostgresUrl(url) })
  } catch (error) {
    throw malformedUrl(url, error)
  }
  // A password with an unencoded @ # ? or / is split by the parser (`u:S3C#RET@h` reads as host `u`, port
  // `S3C`; `u:S3C@RET@h` as host `RET`): the driver would then name part of the password as a host in its
  // errors, and connect somewhere the user never meant.
  const password = urlPassword(url)
  if (password !== undefined && decoded(password) !== parsedPassword(url)) throw malformedUrl(url)
  const schemaParam = SCHEMA_PARAMS.find((name) => queryParams(url)?.has(name))
  if (schemaParam !== undefined) throw schemaInUrl(url, schemaParam)
  const prepare = queryParams(url)?.get(PREPARE_PARAM)
  if (prepare !== undefined && prepare !== null && urlPrepare(url) === undefined) {
    throw new ConfigError(`Invalid prepare=${prepare} in the PostgreSQL URL ${redactUrl(url)}`, {
      hint: 'Write prepare=false behind a pooler in transaction mode (PgBouncer, Supavisor, RDS Proxy), or leave it out (prepared statements on).',
      details: { param: PREPARE_PARAM },
    })
  }
}

/**
 * Query parameters other tools read as the schema (Prisma's `schema`, JDBC's `currentSchema`). node-postgres
 * ignores them, so agent-comm's tables would silently go to its default schema — or, were it honoured, a
 * shared `?schema=public` would mix them with the application's own tables: refused instead.
 */
const SCHEMA_PARAMS = ['schema', 'currentSchema'] as const

function schemaInUrl(url: string, param: string): ConfigError {
  return new ConfigError(
    `The PostgreSQL URL ${redactUrl(url)} names a schema with ?${param}=, which agent-comm does not read from the URL`,
    {
      hint: `Remove ?${param}= from the URL and name agent-comm's schema apart: ${SCHEMA_SETTINGS}. Its default, agent_comm, keeps its tables apart from yours.`,
      details: { param },
    },
  )
}

/** The URL's query parameters, or `undefined` when the WHATWG parser cannot read it (node-postgres could). */
function queryParams(url: string): URLSearchParams | undefined {
  try {
    return new URL(url).searchParams
  } catch {
    return undefined
  }
}

/** The password as the URL parser reads it, decoded; `undefined` when it cannot parse the URL. */
function parsedPassword(url: string): string | undefined {
  try {
    return decoded(new URL(url).password)
  } catch {
    return undefined
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * A {@link SqlClient} on node-postgres (`pg`): a `pg.Pool` for queries and transactions, and one dedicated
 * `pg.Client` per `listen` that reconnects with backoff and LISTENs again after it is lost. Driver failures
 * become `StorageError`s with `details.reason` (a {@link StorageFailureReason}: `unreachable`,
 * `connection-lost`, `auth-failed`, `database-missing`, `permission-denied`, `read-only`, `full`,
 * `conflict`, `ssl-failed`, `query-failed`) and `details.sqlState`; a lost pooled connection is dropped, so the
 * next call opens a new one.
 */
export function createNodePostgresClient(options: NodePostgresClientOptions): SqlClient {
  const { url, logger } = options
  const where = redactUrl(url)
  const connectionTimeoutMillis = options.connectTimeoutMs ?? 30_000
  const pool = new pg.Pool({
    connectionString: nodePostgresUrl(url),
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis,
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    ...KEEP_ALIVE,
    types,
  })
  // An idle pooled connection the server closes emits 'error' on the pool; pg then discards it. Without a
  // listener Node would crash the process on it.
  pool.on('error', (error) => {
    logger?.warn(
      { server: where, reason: toStorageError(error, url, 'connection').details.reason },
      'idle PostgreSQL connection lost; the pool opens a new one on demand',
    )
  })
  const listeners = new Set<Listener>()
  let ended = false

  const prepare = options.prepare ?? urlPrepare(url) ?? true
  // Statement names by SQL text. Only statements with parameters are named: the stores' queries are a
  // fixed set of texts, while DDL and one-off statements (no parameters) would only grow each connection's
  // cache of prepared statements.
  const names = new Map<string, string>()
  const nameOf = (text: string) => {
    let name = names.get(text)
    if (name === undefined) {
      name = `ac_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`
      names.set(text, name)
    }
    return name
  }
  const runQuery = async <R>(on: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
    try {
      const values = params === undefined ? undefined : [...params]
      const result =
        prepare && values !== undefined && values.length > 0
          ? await on.query({ name: nameOf(text), text, values })
          : await on.query(text, values)
      return result.rows as R[]
    } catch (error) {
      throw toStorageError(error, url, 'query')
    }
  }

  return {
    query: <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
      runQuery<R>(pool, text, params),

    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (error) {
        throw toStorageError(error, url, 'connect')
      }
      // A connection that failed mid-transaction is destroyed on release rather than reused.
      let broken: Error | undefined
      // The pool listens for errors on idle connections only: a checked-out one that the server ends emits
      // 'error' here (the running statement fails on its own), which would otherwise crash the process.
      const onError = (error: Error) => {
        broken = error
      }
      client.on('error', onError)
      try {
        await runQuery(client, 'BEGIN')
        const tx: SqlQueryable = {
          query: <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
            runQuery<R>(client, text, params),
        }
        const value = await fn(tx)
        await runQuery(client, 'COMMIT')
        return value
      } catch (error) {
        try {
          await client.query('ROLLBACK')
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
        }
        throw error
      } finally {
        client.off('error', onError)
        client.release(broken)
      }
    },

    async listen(channel, onNotify, onReconnect) {
      const listener = new Listener({
        url,
        where,
        channel,
        onNotify,
        onReconnect,
        logger,
        connectionTimeoutMillis,
        delay: options.reconnectDelay ?? { initialMs: 100, maxMs: 5_000 },
      })
      if (ended) throw new ClosedError('This PostgreSQL client')
      // Known to end() before it connects: an end() while the LISTEN is still connecting waits for it and
      // closes it, rather than leaving a connection opening after the pool is gone.
      listeners.add(listener)
      try {
        await listener.start()
      } catch (error) {
        listeners.delete(listener)
        throw error
      }
      return async () => {
        listeners.delete(listener)
        await listener.stop()
      }
    },

    async end() {
      if (ended) return
      ended = true
      await Promise.all([...listeners].map((l) => l.stop()))
      listeners.clear()
      await pool.end()
    },
  }
}

interface ListenerOptions {
  url: string
  where: string
  channel: string
  onNotify: (payload: string) => void
  onReconnect: (() => void) | undefined
  logger: Logger | undefined
  connectionTimeoutMillis: number
  delay: { initialMs: number; maxMs: number }
}

/** One LISTEN on a connection of its own, re-established after the connection is lost. */
class Listener {
  private client: pg.Client | undefined
  private starting: Promise<pg.Client> | undefined
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private reconnecting = false
  private readonly o: ListenerOptions

  constructor(options: ListenerOptions) {
    this.o = options
  }

  /** Connects and LISTENs; throws a StorageError when the first connection cannot be made. */
  async start(): Promise<void> {
    this.starting = this.connect()
    const client = await this.starting
    if (this.stopped) {
      await client.end().catch(() => undefined)
      throw new ClosedError('This PostgreSQL listener')
    }
    this.client = client
  }

  async stop(): Promise<void> {
    this.stopped = true
    // A LISTEN still connecting is closed by start() once it connects: wait for that.
    await this.starting?.catch(() => undefined)
    if (this.timer !== undefined) clearTimeout(this.timer)
    const client = this.client
    this.client = undefined
    if (client !== undefined) {
      try {
        await client.end()
      } catch (error) {
        this.o.logger?.debug(
          { server: this.o.where, reason: toStorageError(error, this.o.url, 'disconnect').details.reason },
          'closing the PostgreSQL listener connection failed',
        )
      }
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: nodePostgresUrl(this.o.url),
      connectionTimeoutMillis: this.o.connectionTimeoutMillis,
      ...KEEP_ALIVE,
      types,
    })
    // Registered before connect so an early failure is never an unhandled 'error' event.
    client.on('error', (error) => this.lost(client, error))
    client.on('end', () => this.lost(client, undefined))
    client.on('notification', (message) => {
      if (message.channel === this.o.channel) this.o.onNotify(message.payload ?? '')
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${quoteIdent(this.o.channel)}`)
      return client
    } catch (error) {
      client.removeAllListeners('end')
      client.end().catch(() => undefined) // already failed; its close error says nothing new
      throw toStorageError(error, this.o.url, 'LISTEN')
    }
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.stopped || client !== this.client || this.reconnecting) return
    this.reconnecting = true
    this.client = undefined
    client.removeAllListeners('end')
    client.end().catch(() => undefined) // the connection is gone already
    this.o.logger?.warn(
      {
        server: this.o.where,
        channel: this.o.channel,
        reason:
          error === undefined
            ? 'connection-lost'
            : toStorageError(error, this.o.url, 'LISTEN').details.reason,
      },
      'PostgreSQL listener connection lost; reconnecting',
    )
    this.schedule(this.o.delay.initialMs)
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.retry(delayMs)
    }, delayMs)
  }

  private async retry(delayMs: number): Promise<void> {
    if (this.stopped) return
    let client: pg.Client
    try {
      client = await this.connect()
    } catch (error) {
      const next = Math.min(delayMs * 2, this.o.delay.maxMs)
      this.o.logger?.warn(
        {
          server: this.o.where,
          channel: this.o.channel,
          retryInMs: next,
          reason: (error as { details?: { reason?: unknown } }).details?.reason,
        },
        'PostgreSQL listener could not reconnect yet',
      )
      if (!this.stopped) this.schedule(next)
      return
    }
    if (this.stopped) {
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
    this.reconnecting = false
    this.o.logger?.info({ server: this.o.where, channel: this.o.channel }, 'PostgreSQL listener reconnected')
    this.o.onReconnect?.()
  }
}
