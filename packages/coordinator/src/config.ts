import { isAbsolute, resolve } from 'node:path'
import {
  ConfigError,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_POOL_SIZE,
  DEFAULT_TTL_HOURS,
  LeaseSecondsSchema,
  LOG_LEVELS,
  type LogLevel,
  MAX_POOL_SIZE,
  TtlHoursSchema,
} from '@agent-comm/protocol'
import { z } from 'zod'
import { isPostgresUrl, readDatabaseFile } from './database-url.js'

/** Settings of a coordinator and of the default local setup. */
export interface CoordinatorConfig {
  /** Folder the relative paths below are resolved against. */
  projectRoot: string
  /**
   * The database: a SQLite file, or a `postgres://` / `postgresql://` URL (its tables in the schema
   * `postgresSchema`, with `@agent-comm/postgres`).
   */
  dbPath: string
  /** PostgreSQL only: the schema holding agent-comm's tables (default `agent_comm`). */
  postgresSchema?: string
  /** PostgreSQL only: the most connections this process opens (default 10). */
  postgresPoolSize?: number
  /** Transport for agents that do not name one, and for unregistered recipients. */
  defaultTransport: 'sqlite' | 'file'
  /** Root folder of the file transport used when `defaultTransport` is `file`. */
  fileRoot: string
  /** Default message time-to-live, in hours. */
  ttlHours: number
  /** Default lease, in seconds. */
  leaseSeconds: number
  logLevel: LogLevel
}

/** The environment variables {@link loadConfig} reads, with what each means. */
export const CONFIG_VARIABLES = {
  AGENT_COMM_PROJECT_ROOT: 'folder relative paths are resolved against (default: the current folder)',
  AGENT_COMM_DB_PATH:
    'SQLite file or postgres:// URL, e.g. postgres://user:password@host:5432/agents (default: <project root>/data/coordination.db)',
  AGENT_COMM_DB_PATH_FILE:
    'a file holding the database setting instead (read in place of AGENT_COMM_DB_PATH): keeps a PostgreSQL password out of configuration files and command lines',
  AGENT_COMM_PG_SCHEMA: 'PostgreSQL only: schema holding the tables (default: agent_comm)',
  AGENT_COMM_PG_POOL_SIZE: `PostgreSQL only: most connections per process (default: ${DEFAULT_POOL_SIZE})`,
  AGENT_COMM_TRANSPORT: 'default transport, sqlite or file (default: sqlite)',
  AGENT_COMM_TTL_HOURS: `default message time-to-live in hours (default: ${DEFAULT_TTL_HOURS})`,
  AGENT_COMM_LEASE_SECONDS: `default lease in seconds (default: ${DEFAULT_LEASE_SECONDS})`,
  AGENT_COMM_LOG_LEVEL: `log level: ${LOG_LEVELS.join(', ')} (default: ${DEFAULT_LOG_LEVEL})`,
} as const

const POOL_SIZE_RANGE = `must be a whole number from 1 to ${MAX_POOL_SIZE}`

const EnvSchema = z.object({
  AGENT_COMM_PROJECT_ROOT: z.string().min(1, 'must not be empty').optional(),
  AGENT_COMM_DB_PATH: z.string().min(1, 'must not be empty').optional(),
  AGENT_COMM_DB_PATH_FILE: z.string().min(1, 'must not be empty').optional(),
  AGENT_COMM_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,51}$/, 'must be a lower-case identifier (letters, digits, _; at most 52)')
    .optional(),
  AGENT_COMM_PG_POOL_SIZE: z.coerce
    .number({ error: POOL_SIZE_RANGE })
    .int(POOL_SIZE_RANGE)
    .min(1, POOL_SIZE_RANGE)
    .max(MAX_POOL_SIZE, POOL_SIZE_RANGE)
    .optional(),
  AGENT_COMM_TRANSPORT: z.enum(['sqlite', 'file'], { error: 'must be sqlite or file' }).optional(),
  AGENT_COMM_TTL_HOURS: z.coerce
    .number({ error: 'must be a positive number of hours' })
    .pipe(TtlHoursSchema)
    .optional(),
  // Bounded as every lease is (the protocol's LeaseSecondsSchema): a bad value fails at startup, naming
  // the variable, not at the first claim.
  AGENT_COMM_LEASE_SECONDS: z.coerce
    .number({ error: 'must be a positive number of seconds' })
    .pipe(LeaseSecondsSchema)
    .optional(),
  AGENT_COMM_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
})

/**
 * Reads the configuration from environment variables (pass `process.env`; only composition roots should).
 * Unset or empty variables take their defaults; an invalid one fails with a `ConfigError` naming it.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  options: { cwd?: string; overrides?: Partial<CoordinatorConfig> } = {},
): CoordinatorConfig {
  const present = Object.fromEntries(
    Object.keys(CONFIG_VARIABLES)
      .map((key) => [key, key === 'AGENT_COMM_LOG_LEVEL' ? env[key]?.trim().toLowerCase() : env[key]?.trim()])
      .filter(([, value]) => value !== undefined && value !== ''),
  )
  const parsed = EnvSchema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0])
    throw new ConfigError(`${name} ${issue.message} (got '${present[name]}')`, {
      hint: `Fix or unset ${name} — ${CONFIG_VARIABLES[name as keyof typeof CONFIG_VARIABLES]}.`,
      details: { variable: name },
    })
  }
  const vars = parsed.data
  const cwd = options.cwd ?? '.'
  const projectRoot = resolve(cwd, options.overrides?.projectRoot ?? vars.AGENT_COMM_PROJECT_ROOT ?? '.')
  const inRoot = (path: string) => (isAbsolute(path) ? path : resolve(projectRoot, path))
  // --db (an override) wins; the file, when named, is read in place of AGENT_COMM_DB_PATH.
  const fileVariable = vars.AGENT_COMM_DB_PATH_FILE
  const database =
    options.overrides?.dbPath ??
    (fileVariable === undefined
      ? undefined
      : readDatabaseFile(resolve(cwd, fileVariable), 'AGENT_COMM_DB_PATH_FILE')) ??
    vars.AGENT_COMM_DB_PATH ??
    'data/coordination.db'
  const postgresSchema = options.overrides?.postgresSchema ?? vars.AGENT_COMM_PG_SCHEMA
  const postgresPoolSize = options.overrides?.postgresPoolSize ?? vars.AGENT_COMM_PG_POOL_SIZE
  return {
    projectRoot,
    // A URL names a server, never a file: it is not resolved against the project root.
    dbPath: isPostgresUrl(database) ? database : inRoot(database),
    postgresSchema,
    postgresPoolSize,
    defaultTransport: options.overrides?.defaultTransport ?? vars.AGENT_COMM_TRANSPORT ?? 'sqlite',
    fileRoot: inRoot(options.overrides?.fileRoot ?? 'data/file-transport'),
    ttlHours: options.overrides?.ttlHours ?? vars.AGENT_COMM_TTL_HOURS ?? DEFAULT_TTL_HOURS,
    leaseSeconds: options.overrides?.leaseSeconds ?? vars.AGENT_COMM_LEASE_SECONDS ?? DEFAULT_LEASE_SECONDS,
    logLevel: options.overrides?.logLevel ?? vars.AGENT_COMM_LOG_LEVEL ?? DEFAULT_LOG_LEVEL,
  }
}
