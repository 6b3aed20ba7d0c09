export type { ChannelEvent } from './channel.js'
export { CHANNEL_CAPABILITY, CHANNEL_METHOD, channelEvent } from './channel.js'
export type { ChangeSource } from './feed.js'
export { MailFeed } from './feed.js'
export type { HttpServerOptions, RunningHttpServer } from './http.js'
export { AGENT_HEADER, DEFAULT_SESSION_TTL_MS, startHttpServer } from './http.js'
export type { IdentityOptions } from './identity.js'
export type { InboxEntry } from './inbox.js'
export { peekInbox } from './inbox.js'
export { stderrLogger } from './logger.js'
export type { ToolName } from './profiles.js'
export { RELAY_SECRET_TOOLS, selectTools, TOOL_PROFILES } from './profiles.js'
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
export { STDIO_MAX_BUFFER_BYTES, StdioLineTransport } from './stdio-transport.js'
