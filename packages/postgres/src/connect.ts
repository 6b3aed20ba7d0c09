import { ConfigError, DEFAULT_POOL_SIZE, type Logger, MAX_POOL_SIZE } from '@agent-comm/protocol'
import { z } from 'zod'
import type { SqlClient } from './client.js'
import { redactUrl } from './drivers/driver-errors.js'
import { checkNodePostgresUrl, createNodePostgresClient } from './drivers/node-postgres.js'
import { DEFAULT_SCHEMA, validateSchemaName } from './schema-check.js'

const UrlSchema = z
  .string()
  .refine((url) => /^postgres(ql)?:\/\//i.test(url), 'must be a postgres:// or postgresql:// URL')

const PoolSizeSchema = z.number().int().min(1).max(MAX_POOL_SIZE).optional()

/** How the openers connect from a URL. */
export interface ConnectOptions {
  url: unknown
  poolSize?: unknown
  prepare?: boolean | undefined
  logger?: Logger | undefined
}

/**
 * The one place a URL becomes a connection pool: checks the URL (a postgres:// URL node-postgres can
 * parse) and the pool size (`ConfigError` with a hint for either), builds the node-postgres pool and says where it points without the password. Nothing
 * connects yet: the first query does.
 */
export function connectFromUrl(options: ConnectOptions): { client: SqlClient; location: string } {
  const url = UrlSchema.safeParse(options.url)
  if (!url.success) {
    throw new ConfigError(`Invalid PostgreSQL URL: ${url.error.issues[0]?.message}`, {
      hint: 'Pass url: postgres://user:password@host:5432/database',
    })
  }
  checkNodePostgresUrl(url.data)
  const poolSize = PoolSizeSchema.safeParse(options.poolSize)
  if (!poolSize.success) {
    throw new ConfigError(
      `Invalid poolSize ${String(options.poolSize)}: must be a whole number from 1 to ${MAX_POOL_SIZE}`,
      {
        hint: `Leave it out for ${DEFAULT_POOL_SIZE} connections, or pass e.g. poolSize: 4.`,
      },
    )
  }
  const client = createNodePostgresClient({
    url: url.data,
    poolSize: poolSize.data,
    prepare: options.prepare,
    logger: options.logger,
  })
  return { client, location: redactUrl(url.data) }
}

/**
 * {@link connectFromUrl} for a store that keeps a small pool of its own: `defaultPoolSize` connections
 * unless `options.poolSize` says, and the schema it lives in, `options.schema` (default `agent_comm`)
 * checked as a schema name. Nothing connects yet.
 */
export function connectToSchema(
  options: {
    url: string
    schema?: string | undefined
    poolSize?: number | undefined
    logger?: Logger | undefined
  },
  defaultPoolSize: number,
): { client: SqlClient; location: string; schema: string } {
  const schema = validateSchemaName(options.schema ?? DEFAULT_SCHEMA)
  const { client, location } = connectFromUrl({
    url: options.url,
    poolSize: options.poolSize ?? defaultPoolSize,
    logger: options.logger,
  })
  return { client, location, schema }
}
