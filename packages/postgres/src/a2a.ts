// `@agent-comm/postgres/a2a`: the A2A store on its own subpath, so that the main entry's types never name
// `@agent-comm/a2a` (an optional peer) and a PostgreSQL user who does not serve A2A needs nothing of it.
export type { PostgresA2AStoreOptions } from './a2a-store.js'
export { PostgresA2AStore } from './a2a-store.js'
