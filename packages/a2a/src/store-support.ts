// `@agent-comm/a2a/store`: the entry for implementers of an A2A store (the PostgreSQL one of
// `@agent-comm/postgres/a2a`): the interface, its records, and the row readers every store shares.

export type { DuePushRow, SigningKeyRow, TaskRow, TokenRow } from './rows.js'
export {
  duePushFromRow,
  eventFromRow,
  liveTokenError,
  pushConfigFromRow,
  signingKeyFromRow,
  taskFromRow,
  tokenFromRow,
} from './rows.js'
// Every type of the seam, as `store.ts` declares them: an implementer needs them all.
export type * from './store.js'
export { FINISHED_TASK_STATES } from './store.js'
export { a2aTables } from './tables.js'
