// The relay's agent secrets, apart from the HTTP client: the file store, the rotation rules every store
// keeps, and the interface the PostgreSQL store (`@agent-comm/postgres`) implements.
export type { SecretStoreOptions } from './file-store.js'
export { SECRETS_FILE_NAME, SecretStore } from './file-store.js'
export type { SecretDates } from './rotation.js'
export {
  alreadyHasSecret,
  DEFAULT_ROTATION_GRACE_SECONDS,
  isActive,
  newSecret,
  noSecret,
  rotationGraceMs,
  SECRET_PREFIX,
  secretInfo,
} from './rotation.js'
export type { IssuedSecret, RelaySecretStore, RevokedSecrets, SecretInfo, SecretLookup } from './types.js'
