// What `inbox AGENT --new` (the hook, run on every prompt of an assistant) loads from the library packages
// besides the spool's query, bundled by scripts/bundle-runtime.mjs into dist/hook-runtime.bundle.js: a few
// kilobytes, without the coordinator, drizzle-orm or zod of dist/runtime.bundle.js.

/** The coordinator's rule for the file AGENT_COMM_DB_PATH_FILE names (a URL with its password, mode 0600). */
export { isPostgresUrl, readDatabaseFile } from '@agent-comm/coordinator/database-url'

/** The PostgreSQL read (node-postgres, in a chunk of its own): loaded only for a `postgres://` database. */
export const loadUnclaimedMail = () => import('@agent-comm/postgres/unclaimed-mail')
