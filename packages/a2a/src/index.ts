// The public surface of @agent-comm/a2a: the relay's A2A endpoint (plugin), its parts for other hosts,
// and the token store the CLI manages.
export { A2A_VERSION, agentCard, agentEndpoint, directoryCard, SECURITY_SCHEME } from './card.js'
export type { A2ACleanupOptions } from './cleanup.js'
export { A2A_CLEANUP_BATCH, cleanupA2ATasks } from './cleanup.js'
export { a2aCopySection } from './copy-section.js'
export type { CallState } from './handler.js'
export { SpoolRequestHandler } from './handler.js'
export {
  MAX_MESSAGE_ID_LENGTH,
  MAX_PUSH_CREDENTIALS_LENGTH,
  MAX_PUSH_NAME_LENGTH,
  MAX_PUSH_TOKEN_LENGTH,
  MAX_PUSH_URL_LENGTH,
  paramsProblem,
} from './params.js'
export type { ReplyOutcome } from './parts.js'
export { replyOutcome } from './parts.js'
export type { A2APluginOptions } from './plugin.js'
export { a2aPlugin, TOO_MANY_WAITS_CODE } from './plugin.js'
export type { A2AProfile, A2ASkill } from './profile.js'
export {
  A2AProfileSchema,
  A2ASkillSchema,
  a2aProfileOf,
  callerAgentId,
  isA2AAgent,
  parseSkillFlag,
} from './profile.js'
export type { A2APushesOptions } from './push.js'
export { A2APushes } from './push.js'
export type { CheckedPushUrl, HostLookup, PushUrlPolicy, PushUrlRefusal } from './push-url.js'
export {
  checkPushUrl,
  isAddressOrCidr,
  isForbiddenAddress,
  PushAllowEntrySchema,
  pushUrlProblem,
} from './push-url.js'
export type { A2ASigningKeysOptions, PushClaims, PushSigner, Sealer } from './signing-keys.js'
export { A2ASigningKeys, JWKS_PATH, PUSH_SIGNING_ALG } from './signing-keys.js'
export { A2A_MIGRATIONS_FOLDER, A2A_MIGRATIONS_TABLE, SqliteA2AStore } from './sqlite/store.js'
export type {
  A2AStore,
  DuePush,
  EventRecord,
  MaybePromise,
  PushConfigRecord,
  RemovedTasks,
  SigningKeyRecord,
  StoredTaskState,
  TaskFilter,
  TaskRecord,
  TokenRecord,
  TransitionParams,
} from './store.js'
export { FINISHED_TASK_STATES } from './store.js'
export type { A2ACaller, A2ATasksDeps, SentTask, SequencedEvent } from './tasks.js'
export { A2ATasks } from './tasks.js'
export type { IssuedToken, TokenInfo } from './tokens.js'
export { A2ATokens, CallerNameSchema, hashToken, openRelayTokens } from './tokens.js'
