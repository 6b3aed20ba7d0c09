export type { SqlClient, SqlQueryable } from './client.js'
export { redactUrl, type StorageFailureReason, sqlStateOf } from './drivers/driver-errors.js'
export { createNodePostgresClient, type NodePostgresClientOptions } from './drivers/node-postgres.js'
