// Everything the commands use at run time from the library packages, in one module that the build
// bundles into dist/runtime.bundle.js (see scripts/bundle-runtime.mjs and the README's "Startup time").
// Commands load it lazily, through the composition root, so `--help` never pays for it.

export {
  createCoordinator,
  describeAgentTransports,
  describeDatabase,
  isPostgresUrl,
  loadConfig,
  readDatabaseFile,
} from '@agent-comm/coordinator'
export {
  AgentCommError,
  AgentIdSchema,
  ClaimedMessageSchema,
  createLineLogger,
  IdempotencyKeySchema,
  isAgentCommError,
  isTransientStorageError,
  JsonObjectSchema,
  JsonValueSchema,
  parseOrThrow,
  replyThread,
  StorageError,
  ValidationError,
} from '@agent-comm/protocol'
export { assertRegistrableAgentId, registryCopySection } from '@agent-comm/registry'
export { SqliteSpoolStore } from '@agent-comm/spool'
export { DeferredTransport } from './deferred-transport.js'

// The packages below are split into chunks of their own (esbuild's code splitting) and loaded on first
// call, so a `send` to a local agent never parses undici or the bridges. They share the bundle's copy of
// protocol (and zod), so their errors are the classes `isAgentCommError` above knows.

/** The bridges (with node:child_process): loaded by `bridge` and the demo, never by `send` or `poll`. */
export const loadBridges = () => import('@agent-comm/bridge')

/** The HTTP transport (with undici): loaded when a command reaches an agent registered as `http`. */
export const loadTransportHttp = () => import('@agent-comm/transport-http')

/** The relay's secret store (no fastify): loaded by `relay gen-secret`, `list-secrets`, `revoke-secret`. */
export const loadSecretStore = () => import('@agent-comm/secrets')

/** The A2A package (caller tokens in the relay's database): loaded only by `relay a2a-token`. */
export const loadA2A = () => import('@agent-comm/a2a')

/** The PostgreSQL package (the demo drops its temporary schema with it): loaded only on a PostgreSQL URL. */
export const loadPostgres = () => import('@agent-comm/postgres')

/** The A2A part of `cleanup` (`@agent-comm/coordinator/a2a-cleanup`, MCP's comm_cleanup's too): loaded only by it. */
export const loadA2ACleanup = () => import('@agent-comm/coordinator/a2a-cleanup')

/** The spool's part of `db copy` (its row schemas, about 47 zod schemas): loaded only by `db copy`. */
export const loadSpoolCopy = () => import('@agent-comm/spool/copy')

/** The PostgreSQL A2A store (`@agent-comm/postgres/a2a`), loaded only by the relay's A2A commands. */
export const loadPostgresA2A = () => import('@agent-comm/postgres/a2a')
