import { a2aTables } from '@agent-comm/a2a/store'
import { bigserial } from 'drizzle-orm/pg-core'
import { spoolSchema } from './schema.js'
import { pgTableOf } from './table-of.js'

// The A2A endpoint's tables (`PostgresA2AStore`), in the spool's schema beside its tables: built from the
// descriptions the SQLite store's tables are built from (`@agent-comm/a2a`), with bigint times. Made by the
// migration `0006_a2a`, which also adopts the tables an earlier version created by hand (same names and
// columns).

/** Bearer tokens of external A2A callers: only the SHA-256 of a token is kept. */
export const a2aTokens = pgTableOf(spoolSchema, a2aTables.tokens)

/** A2A tasks: caller, agent, context, the spool message waited on, and the task as A2A JSON. */
export const a2aTasks = pgTableOf(spoolSchema, a2aTables.tasks, {
  extra: {
    /** Insertion order: breaks ties between tasks created in the same millisecond. */
    position: bigserial('position', { mode: 'number' }),
  },
})

/** Every spool message a task sent (one per turn): a reply names one of them in `replyTo`. */
export const a2aTaskMessages = pgTableOf(spoolSchema, a2aTables.taskMessages)

/** The A2A message ids each caller sent, per caller: a message sent again answers with its task. */
export const a2aCallerMessages = pgTableOf(spoolSchema, a2aTables.callerMessages)

/** Each task's stream events in order, replayed to a stream that reconnects on any replica. */
export const a2aEvents = pgTableOf(spoolSchema, a2aTables.events)

/** Push-notification configs of tasks (A2A `TaskPushNotificationConfig` JSON). */
export const a2aPushConfigs = pgTableOf(spoolSchema, a2aTables.pushConfigs)

/** The push outbox: one row per event and config, written with the event, retried until done. */
export const a2aPushOutbox = pgTableOf(spoolSchema, a2aTables.pushOutbox)

/** The key pairs pushes are signed with (ES256); the private key is sealed under the relay's secrets key. */
export const a2aSigningKeys = pgTableOf(spoolSchema, a2aTables.signingKeys)
