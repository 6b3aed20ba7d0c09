export type { SqlClient, SqlQueryable } from './client.js'
