// `agent-comm db copy`, composed: the source's store reads one snapshot into the neutral rows of
// `@agent-comm/spool/copy` and streams them, a bounded batch at a time, to the destination's store, which
// writes them in one transaction (both stay open until the last batch is written). This module only picks
// the stores and the sections (registry, A2A) and cleans up a destination it created when the copy fails:
// it never touches a driver handle.
import { existsSync, realpathSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { CopyCounts, RowCounter } from '@agent-comm/spool/copy'
import { databasePath, loadRuntime } from './context.js'
import { CommandFailure, ExitCode, mayOnlyRead } from './errors.js'

/** What is in an agent-comm database but not copied, and what to do about each (printed and in --json). */
export const NOT_COPIED: readonly string[] = [
  "relay nonces: short-lived replay protection, refilled by the relay's next requests",
  'console sign-in sessions: people sign in to the console again (its audit log of decisions is copied)',
  "the relay's agent secrets: on a relay with PostgreSQL, run `agent-comm relay gen-secret <agent> --db <destination>` for each agent that talks through it (a relay on SQLite keeps them in its data folder's secrets.json, which still works)",
  "the A2A push-signing keys: sealed with the relay's secrets key; the relay makes a new one on its first start on the destination",
]

/** Where and how to copy (the flags of `db copy`). */
export interface CopyDatabaseOptions {
  /** `--db` (else AGENT_COMM_DB_PATH…): the source. */
  db: string | undefined
  /** `--to`: a SQLite file or a PostgreSQL URL. */
  to: string
  /** `--to-schema`: the destination's schema on PostgreSQL (default: the source's, AGENT_COMM_PG_SCHEMA). */
  toSchema: string | undefined
  dryRun: boolean
}

/** What `db copy` did; the `--json` output. */
export interface CopyDatabaseResult {
  /** The source, safe to print (a URL without its password). */
  from: string
  /** The source's schema, for a PostgreSQL source. */
  fromSchema?: string
  to: string
  toSchema?: string
  dryRun: boolean
  /** Rows per kind (what was copied, or with --dry-run what would be). */
  counts: CopyCounts
  /** The destination's own integrity checks after the copy (absent on a dry run). */
  verify?: { ok: boolean; problems: string[] }
  notCopied: readonly string[]
}

/** A database a copy reads or writes: a file, or a schema of a PostgreSQL database. */
type Place = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string }

/** Copies the configured database into `options.to` (see `db copy`). */
export async function copyDatabase(options: CopyDatabaseOptions): Promise<CopyDatabaseResult> {
  const runtime = await loadRuntime()
  const { isPostgresUrl, loadConfig, describeDatabase } = runtime
  const cwd = process.cwd()
  const config = loadConfig(process.env, {
    cwd,
    overrides: { dbPath: databasePath(options.db, cwd, isPostgresUrl) },
  })
  const toGiven = databasePath(options.to, cwd, isPostgresUrl, '--to')!
  // The schema of a PostgreSQL side: AGENT_COMM_PG_SCHEMA, else the PostgreSQL store's default.
  const onServer = isPostgresUrl(config.dbPath) || isPostgresUrl(toGiven)
  const schema =
    config.postgresSchema ?? (onServer ? (await runtime.loadPostgres()).DEFAULT_SCHEMA : undefined) ?? ''
  const source: Place = isPostgresUrl(config.dbPath)
    ? { kind: 'postgres', url: config.dbPath, schema }
    : { kind: 'sqlite', path: config.dbPath }
  if (!isPostgresUrl(toGiven) && options.toSchema !== undefined) {
    throw new CommandFailure(
      'VALIDATION',
      '--to-schema applies to a PostgreSQL destination, not to a SQLite file',
      {
        hint: 'Leave --to-schema out, or give --to a postgres:// URL.',
        exitCode: ExitCode.USAGE,
      },
    )
  }
  const destination: Place = isPostgresUrl(toGiven)
    ? { kind: 'postgres', url: toGiven, schema: options.toSchema ?? schema }
    : { kind: 'sqlite', path: toGiven }
  const shown = (place: Place) => describeDatabase(place.kind === 'sqlite' ? place.path : place.url)
  if (await samePlace(source, destination)) {
    throw new CommandFailure(
      'VALIDATION',
      `The source and the destination are the same database (${shown(source)})`,
      {
        hint: 'Give --to another SQLite file, another PostgreSQL database, or another schema (--to-schema).',
        exitCode: ExitCode.USAGE,
      },
    )
  }
  const [{ a2aCopySection }, { consoleCopySection }] = await Promise.all([
    runtime.loadA2A(),
    import('@agent-comm/relay'),
  ])
  const sections = [runtime.registryCopySection, a2aCopySection, consoleCopySection]
  const from = await openSource(source, shown(source))
  const result = (counts: CopyCounts): CopyDatabaseResult => ({
    from: shown(source),
    ...(source.kind === 'postgres' ? { fromSchema: source.schema } : {}),
    to: shown(destination),
    ...(destination.kind === 'postgres' ? { toSchema: destination.schema } : {}),
    dryRun: options.dryRun,
    counts,
    notCopied: NOT_COPIED,
  })
  if (options.dryRun) {
    // Every row is still read and checked, batch by batch, and counted; nothing is kept.
    const counter = new (await runtime.loadSpoolCopy()).RowCounter()
    await from.store.exportRows!({ sections, sink: counter }).finally(() => from.store.close())
    return result(counter.counts)
  }
  let to: OpenedStore
  try {
    to = await openStore(destination, true)
  } catch (error) {
    await from.store.close()
    throw error
  }
  let counter: RowCounter | undefined
  const { RowCounter: Counter } = await runtime.loadSpoolCopy()
  try {
    await to.store.importRows!({
      sections,
      source: (sink) => {
        counter = new Counter(sink)
        return from.store.exportRows!({ sections, sink: counter })
      },
    })
  } catch (error) {
    await to.store.close()
    if (to.created) await removeCreated(destination)
    throw error
  } finally {
    await from.store.close()
  }
  try {
    const { ok, problems } = await to.store.verify()
    return { ...result(counter!.counts), verify: { ok, problems } }
  } finally {
    await to.store.close()
  }
}

/**
 * Whether two places are one database: the same file, or the same schema of one database of one server. A
 * server is told by its own identity (`postgresDatabaseIdentity`), not by the host its URL names:
 * `localhost`, `127.0.0.1`, a socket folder and another name of the machine all reach the same one.
 */
async function samePlace(a: Place, b: Place): Promise<boolean> {
  if (a.kind === 'sqlite' && b.kind === 'sqlite') return realPath(a.path) === realPath(b.path)
  if (a.kind === 'postgres' && b.kind === 'postgres' && a.schema === b.schema) {
    const { postgresDatabaseIdentity } = await (await loadRuntime()).loadPostgres()
    const [from, to] = await Promise.all([postgresDatabaseIdentity(a.url), postgresDatabaseIdentity(b.url)])
    return from === to
  }
  return false
}

/** The file's path with every symbolic link resolved (its folder's, for a file not there yet). */
function realPath(path: string): string {
  if (existsSync(path)) return realpathSync(path)
  const folder = dirname(path)
  return existsSync(folder) ? join(realpathSync(folder), basename(path)) : path
}

type OpenedStore = {
  store: import('@agent-comm/spool').SpoolStore
  /** The copy created this database (a new file, or a schema that was not there): removed if it fails. */
  created: boolean
}

/**
 * The store of the source, which must exist: opened for writing (so an older database is migrated first, as
 * every command does), or read-only when this user may only read the file.
 */
async function openSource(place: Place, shown: string): Promise<OpenedStore> {
  try {
    return await openStore(place, false)
  } catch (error) {
    const reason = (error as { details?: { reason?: unknown } }).details?.reason
    if (reason === 'missing') {
      const where = place.kind === 'postgres' ? `${shown} (schema ${place.schema})` : shown
      throw new CommandFailure('STORAGE', `No agent-comm database at ${where} to copy`, {
        hint: 'Name the database to copy with --db or AGENT_COMM_DB_PATH (on PostgreSQL, its schema with AGENT_COMM_PG_SCHEMA).',
        exitCode: ExitCode.FAILURE,
        cause: error,
      })
    }
    if (place.kind !== 'sqlite' || !mayOnlyRead(error, place.path)) throw error
    const runtime = await loadRuntime()
    return {
      store: await runtime.SqliteSpoolStore.open({ path: place.path, readonly: true }),
      created: false,
    }
  }
}

/** The spool store of `place`; the source must exist, the destination is created (and migrated) if new. */
async function openStore(place: Place, create: boolean): Promise<OpenedStore> {
  const runtime = await loadRuntime()
  if (place.kind === 'sqlite') {
    const created = create && !existsSync(place.path)
    return { store: await runtime.SqliteSpoolStore.open({ path: place.path, create }), created }
  }
  const { openPostgresSpoolStore } = await runtime.loadPostgres()
  const open = (createSchema: boolean) =>
    openPostgresSpoolStore({ url: place.url, schema: place.schema, poolSize: 2, create: createSchema })
  try {
    return { store: await open(false), created: false }
  } catch (error) {
    if (!create || (error as { details?: { reason?: unknown } }).details?.reason !== 'missing') throw error
    return { store: await open(true), created: true }
  }
}

/** Removes a destination the failed copy created, so the failure leaves nothing behind. */
async function removeCreated(place: Place): Promise<void> {
  if (place.kind === 'sqlite') {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${place.path}${suffix}`, { force: true })
    return
  }
  const { dropPostgresSchema } = await (await loadRuntime()).loadPostgres()
  await dropPostgresSchema({ url: place.url, schema: place.schema, createdByCaller: true })
}
