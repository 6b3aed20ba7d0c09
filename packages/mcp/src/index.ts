export type { HttpServerOptions, RunningHttpServer } from './http.js'
export { startHttpServer } from './http.js'
export type { InboxEntry } from './inbox.js'
export { peekInbox } from './inbox.js'
export { stderrLogger } from './logger.js'
export type { IssuedRelaySecret, RelaySecretInfo, RelaySecrets } from './relay-secrets.js'
export { openRelaySecrets } from './relay-store.js'
export {
  CONVERSATION_URI_TEMPLATE,
  conversationUri,
  INBOX_URI_TEMPLATE,
  inboxAgentOf,
  inboxUri,
} from './resources.js'
export type { StartOptions } from './runtime.js'
export type { McpServerOptions } from './server.js'
export { createMcpServer, packageVersion, SERVER_NAME, TOOL_NAMES } from './server.js'
export type { RunningServer, StdioServerOptions } from './stdio.js'
export { startStdioServer } from './stdio.js'
