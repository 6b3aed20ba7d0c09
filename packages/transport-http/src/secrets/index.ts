export { hasPlainSecretEnvName, secretEnvName, secretFromEnv } from '../env.js'
export type { IssuedSecret, SecretInfo, SecretStoreOptions } from './secret-store.js'
export {
  DEFAULT_ROTATION_GRACE_SECONDS,
  SECRET_PREFIX,
  SECRETS_FILE_NAME,
  SecretStore,
} from './secret-store.js'
