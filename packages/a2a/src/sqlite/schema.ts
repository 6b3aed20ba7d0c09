import { sqliteTableOf } from '@agent-comm/spool/sqlite-table'
import { a2aTables } from '../tables.js'

// The SQLite store's tables, built from the descriptions both dialects share (`../tables.ts`).

/** Bearer tokens of external A2A callers (only their SHA-256). */
export const a2aTokens = sqliteTableOf(a2aTables.tokens)
/** A2A tasks: caller, agent, context, the spool message waited on, and the task as A2A JSON. */
export const a2aTasks = sqliteTableOf(a2aTables.tasks)
/** Every spool message a task sent (one per turn). */
export const a2aTaskMessages = sqliteTableOf(a2aTables.taskMessages)
/** The A2A message ids each caller sent, per caller (a message sent again answers with its task). */
export const a2aCallerMessages = sqliteTableOf(a2aTables.callerMessages)
/** Each task's stream events in order. */
export const a2aEvents = sqliteTableOf(a2aTables.events)
/** Push-notification configs of tasks. */
export const a2aPushConfigs = sqliteTableOf(a2aTables.pushConfigs)
/** The push outbox: one row per event and config. */
export const a2aPushOutbox = sqliteTableOf(a2aTables.pushOutbox)
/** The key pairs push notifications are signed with. */
export const a2aSigningKeys = sqliteTableOf(a2aTables.signingKeys)
