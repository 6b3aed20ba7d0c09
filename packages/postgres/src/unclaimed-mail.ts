// `@agent-comm/postgres/unclaimed-mail`: the read behind assistants' inbox hooks on a PostgreSQL database.
// A hook runs on every prompt, so this entry opens one connection, makes three small reads and closes it:
// no pool kept, no migrations, no server clock kept in sync, and none of drizzle-orm or zod loaded.
import {
  type MailCursor,
  NO_CURSOR,
  UNCLAIMED_MAIL_PARAMS,
  type UnclaimedMailRow,
  unclaimedMailParams,
  unclaimedMailSql,
} from '@agent-comm/spool/unclaimed-mail'
import { redactUrl } from './drivers/driver-errors.js'
import { checkNodePostgresUrl, createNodePostgresClient } from './drivers/node-postgres.js'
import {
  assertPostgresDatabaseExists,
  assertSchemaNotNewer,
  DEFAULT_SCHEMA,
  validateSchemaName,
} from './schema-check.js'

export type { MailCursor, UnclaimedMailRow } from '@agent-comm/spool/unclaimed-mail'
/** The schema read when none is given. */
export { DEFAULT_SCHEMA } from './schema-check.js'

/** Default of {@link ReadUnclaimedMailOptions.connectTimeoutMs}: a hook must not hold the assistant up. */
export const UNCLAIMED_MAIL_CONNECT_TIMEOUT_MS = 3_000

/** Default of {@link ReadUnclaimedMailOptions.statementTimeoutMs}. */
export const UNCLAIMED_MAIL_STATEMENT_TIMEOUT_MS = 3_000

/** Options of {@link readUnclaimedMail}. */
export interface ReadUnclaimedMailOptions {
  /** `postgres://user:password@host:port/database`; the password is never shown. */
  url: string
  /** The spool's schema (default `agent_comm`). */
  schema?: string | undefined
  /** Whose mail. */
  recipient: string
  /** Only what is new to this cursor (default: everything waiting). */
  cursor?: MailCursor | undefined
  /** Longest wait for the connection before the server counts as unreachable (default 3 s). */
  connectTimeoutMs?: number | undefined
  /** Longest each statement may run before the server cancels it (default 3 s). */
  statementTimeoutMs?: number | undefined
}

/** What {@link readUnclaimedMail} found, and the server's time it was read at (the cursor's next `checkedAt`). */
export interface UnclaimedMail {
  rows: UnclaimedMailRow[]
  now: number
}

/**
 * The mail waiting for `recipient` unclaimed and due now (and new to `cursor`), most urgent first, by the
 * statement the SQLite hook runs too (`@agent-comm/spool/unclaimed-mail`). Due is judged by the server's
 * clock, as the stores judge claims. Reads only: a role with SELECT on the schema's tables suffices.
 * Throws `ConfigError` for a malformed URL or schema name, `StorageError` when the server cannot be reached
 * within `connectTimeoutMs` or the schema holds no agent-comm database, `SchemaVersionError` for a schema
 * written by a newer version. No message names the password.
 */
export async function readUnclaimedMail(options: ReadUnclaimedMailOptions): Promise<UnclaimedMail> {
  const schema = validateSchemaName(options.schema ?? DEFAULT_SCHEMA)
  checkNodePostgresUrl(options.url)
  const client = createNodePostgresClient({
    url: options.url,
    poolSize: 1,
    // One connection for three statements: preparing them would cost a round trip each and save nothing.
    prepare: false,
    connectTimeoutMs: options.connectTimeoutMs ?? UNCLAIMED_MAIL_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: options.statementTimeoutMs ?? UNCLAIMED_MAIL_STATEMENT_TIMEOUT_MS,
  })
  try {
    await assertPostgresDatabaseExists(client, schema, redactUrl(options.url))
    await assertSchemaNotNewer(client, schema)
    const [clock] = await client.query<{ now: number }>(
      'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now',
    )
    const now = Number(clock?.now)
    const values = unclaimedMailParams(options.recipient, now, options.cursor ?? NO_CURSOR)
    const rows = await client.query<UnclaimedMailRow & Record<string, unknown>>(
      unclaimedMailSql(
        { deliveries: `"${schema}".deliveries`, messages: `"${schema}".messages` },
        (name) => `$${UNCLAIMED_MAIL_PARAMS.indexOf(name) + 1}`,
      ),
      UNCLAIMED_MAIL_PARAMS.map((name) => values[name]),
    )
    return {
      rows: rows.map((row) => ({
        ...row,
        seq: Number(row.seq),
        priority: Number(row.priority),
        created_at: Number(row.created_at),
      })),
      now,
    }
  } finally {
    await client.end()
  }
}
