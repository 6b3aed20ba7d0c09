// The secret store the CLI's `relay gen-secret / list-secrets / revoke-secret` commands use, re-exported so
// a relay operator needs one import; it lives in @agent-comm/secrets, free of fastify.
export type {
  IssuedSecret,
  RelaySecretStore,
  SecretInfo,
  SecretLookup,
  SecretStoreOptions,
} from '@agent-comm/secrets'
export { SECRETS_FILE_NAME, SecretStore } from '@agent-comm/secrets'
export type { RelayDeps, RelayOptions } from './app.js'
export { createRelay } from './app.js'
export type { AuthFailureReason, Caller, SecretSource } from './auth.js'
export type { LoadedRelayConfig, RelayConfig } from './config.js'
export { loadRelayConfig, RELAY_ENV_VARIABLES, RELAY_USAGE, relayConfig } from './config.js'
export { consoleCopySection } from './console-copy-section.js'
export type { MountedConsole, RelayConsoleOptions } from './console-mount.js'
export { issueConsoleLoginToken } from './console-mount.js'
export type { RelaySecrets } from './context.js'
export { RELAY_DEFAULTS } from './defaults.js'
export type { LocalConsole, LocalConsoleOptions } from './local-console.js'
export { startLocalConsole } from './local-console.js'
export type { RelayLoggerOptions } from './logger.js'
export { createRelayLogger, REDACTED_LOG_PATHS } from './logger.js'
export type { NonceStore, SqliteNonceStoreOptions } from './nonces.js'
export { RELAY_MIGRATIONS_FOLDER, RELAY_MIGRATIONS_TABLE, SqliteNonceStore } from './nonces.js'
export type { TracingHandle } from './otel.js'
export { otlpTracesUrl, startTracingFromEnv } from './otel.js'
export type { RelayHandle, StartRelayDeps } from './start.js'
export { startRelay } from './start.js'
export type { RelayStorage } from './storage.js'
export { openRelayStorage, RELAY_DB_FILE, relaySecretsKey, sqliteRelaySecretsKey } from './storage.js'
export { RELAY_VERSION } from './version.js'
