export type { SqliteTransportOptions } from './sqlite-transport.js'
export { SqliteTransport } from './sqlite-transport.js'
