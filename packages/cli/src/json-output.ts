/**
 * The documents the commands print with `--json`, one type each, in the order of the README's `--json`
 * contract table (json-contract.test.ts runs the commands and holds what they print to that table), the
 * setup commands' last. A command's `run` returns its document, which oclif prints; a command that runs
 * until stopped prints one line once it listens.
 */
import type { RunSummary } from '@agent-comm/bridge'
import type { Coordinator, SendReport } from '@agent-comm/coordinator'
import type { AckResult, AgentProfile, ClaimedMessage, MessageV2 } from '@agent-comm/protocol'
import type { IssuedSecret, RevokedSecrets, SecretInfo } from '@agent-comm/secrets'
import type { A2ASigningKeyInfo, RotatedSecretsKey } from './context.js'
import type { CopyDatabaseResult } from './database-copy.js'
import type { PlannedFile } from './install-plan.js'

/** What the coordinator's method `name` resolves to. */
type Resolved<Name extends keyof Coordinator> = Coordinator[Name] extends (...args: never[]) => infer R
  ? Awaited<R>
  : never

/** A listing: how many there are, and the list itself under a name of the command's own. */
export type Listing<Name extends string, Items extends unknown[]> = { count: number } & Record<Name, Items>

/** `register` and `heartbeat`: the agent's profile as it is now. */
export interface AgentResult {
  agent: AgentProfile
}

/** `register --at-relay`: the relay that has the profile now. */
export interface RelayRegistration {
  url: string
  registered: true
}

/** `register`: the profile, and with `--at-relay` the relay that has it too. */
export interface RegisterResult extends AgentResult {
  relay?: RelayRegistration
}

/** `deregister`. */
export interface DeregisterResult {
  agentId: string
  deregistered: true
}

/** `agents`. */
export type AgentsResult = Listing<'agents', AgentProfile[]>

/** `poll` (without --follow): each claimed message with its lease; `lease.receipt` goes to ack / nack --receipt. */
export type PollResult = { agent: string } & Listing<'messages', ClaimedMessage[]>

/** One message `ack --stdin` (or `ack` of several ids) could not acknowledge. */
export interface AckFailure {
  messageId: string
  agent: string
  error: { code: string; message: string; hint: string | null }
}

/** `ack --stdin` and `ack` of several ids. */
export interface AckManyResult {
  count: number
  acked: AckResult[]
  failed: AckFailure[]
}

/** `inbox`: each waiting {message, delivery}, in the order poll would claim them; nothing is claimed. */
export type InboxResult = { agent: string } & Listing<'pending', Resolved<'pending'>>

/** `request`: the request's id and the reply. */
export interface RequestResult {
  requestId: string
  reply: MessageV2
}

/** `reply`. */
export interface ReplyResult {
  messageId: string
  replyTo: string
  conversationId: string
  duplicate: boolean
  routes: SendReport['routes']
}

/** `conversations`, most recent first: conversationId, subject, participants, messageCount, activity. */
export type ConversationsResult = Listing<'conversations', Resolved<'conversations'>>

/** `conversation`: its messages oldest first. */
export type ConversationResult = { conversationId: string } & Listing<'messages', MessageV2[]>

/** `search`: the messages found, newest first. */
export type SearchResult = Listing<'messages', MessageV2[]>

/** `stats` (JSON with or without --json). */
export type StatsResult = Resolved<'stats'> & {
  /** Only with --verify: the integrity checks run and the problems found. */
  verify?: Resolved<'verify'>
}

/**
 * `cleanup`: dryRun, expiredMessages, ackedMessages, deliveries; on a relay's database (with the A2A
 * endpoint's tables) also a2aTasks and a2aCallerMessages, the finished A2A tasks removed and the caller
 * message ids that went with them.
 */
export type CleanupResult = Resolved<'cleanup'> & {
  a2aTasks?: number
  a2aCallerMessages?: number
}

/** `failed`, newest first: each {message, delivery}, with delivery.lastError saying why it failed. */
export type FailedResult = Listing<'failed', Resolved<'listFailed'>>

/** `db copy`: the source and destination (no password), counts per kind, verify. */
export type DbCopyResult = CopyDatabaseResult

/** `retry`. */
export interface RetryResult {
  messageId: string
  /** The agent whose delivery was requeued, or null for every failed delivery of the message. */
  agent: string | null
  requeued: number
}

/** `bridge --once`, and a stopped bridge's counts. */
export interface BridgeRunResult extends RunSummary {
  agent: string
  bridge: string
}

/** The last line of `bridge --json` (without --once): the run's counts once it stopped. */
export interface BridgeStoppedLine extends BridgeRunResult {
  type: 'stopped'
}

/** `bridge --check`. */
export interface BridgeCheckResult {
  agent: string
  bridge: string
  available: boolean
  /** Why the runtime is not reachable (only when it is not). */
  reason?: string
  /** What to do about it, when the bridge says (only when it is not). */
  hint?: string
}

/** One step of the demo. */
export interface DemoStep {
  step: number
  actor: 'architect' | 'builder'
  action: string
  detail: string
}

/** `demo`. */
export interface DemoResult {
  steps: DemoStep[]
  conversationId: string
  /** The conversation at the end, oldest first. */
  conversation: MessageV2[]
}

/** `relay start`, printed once the relay listens. */
export interface RelayStartResult {
  /** Base URL for clients on this machine, e.g. `http://127.0.0.1:8420`. */
  url: string
  /** Absolute path of the data folder (relay.db, secrets.json). */
  dataDir: string
}

/** `console`, printed once it listens. */
export interface ConsoleResult {
  /** The console page, e.g. `http://127.0.0.1:8421/console/`. */
  url: string
  /** The server's base URL, e.g. `http://127.0.0.1:8421` (its JSON API is under `/api/v1`). */
  baseUrl: string
  /** The page with a one-time login token (works once). */
  loginUrl: string
}

/** `relay gen-secret`: the issued secret (the only time it is shown) and its variable. */
export interface GenSecretResult extends IssuedSecret {
  /** The variable the agent's machine reads it from, e.g. `AGENT_COMM_SECRET_AGENT_B`. */
  envVar: string
}

/** `relay list-secrets`: never a secret. */
export type ListSecretsResult = Listing<'secrets', (SecretInfo & { envVar: string })[]>

/** `relay revoke-secret`: the agent and how many secrets stopped working. */
export type RevokeSecretResult = RevokedSecrets

/** `relay a2a-token`: the token only from `create`, and only that once. */
export interface A2ATokenResult {
  action: 'create' | 'list' | 'revoke'
  /** `create`: the caller, its agents and the token. */
  issued?: { name: string; token: string; agents: string[] | undefined; createdAt: string }
  /** `list`: every caller (never a token). */
  tokens?: { name: string; agents: string[] | undefined; createdAt: string; revokedAt: string | undefined }[]
  /** `revoke`: whether a live token was revoked. */
  revoked?: boolean
}

/** `relay a2a-key`. */
export interface A2AKeyResult {
  action: 'list' | 'rotate'
  /** The keys in the relay's JWKS: the current one and those in their grace period (public ids only). */
  keys: A2ASigningKeyInfo[]
  /** `rotate`: the id of the key that signs from now on. */
  rotatedTo?: string
}

/** `relay rotate-secrets-key`. */
export type RotateSecretsKeyResult = Omit<RotatedSecretsKey, 'location'>

/** `mcp --http`, printed once the server listens. */
export interface McpHttpResult {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8422/mcp`. */
  url: string
}

/** `mcp install`. */
export interface McpInstallResult {
  client: string
  dryRun: boolean
  /** The files written (or that would be), their content without a PostgreSQL URL's password. */
  files: PlannedFile[]
  /** How to start the client so it listens to the channel, when --channel was given. */
  launch?: string
}

/** `hooks install`. */
export interface HooksInstallResult {
  dryRun: boolean
  files: PlannedFile[]
}

/** One installed agent-comm entry and what is wrong with it. */
export interface DoctorEntry {
  client: string
  scope: 'project' | 'user'
  file: string
  command: string
  args: string[]
  database: string | null
  agent: string | null
  problems: string[]
}

/** `mcp doctor`. */
export interface DoctorResult {
  entries: DoctorEntry[]
  ok: boolean
}
