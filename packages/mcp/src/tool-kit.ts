import type { Coordinator } from '@agent-comm/coordinator'
import type { Clock, Logger } from '@agent-comm/protocol'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js'
import type { SessionIdentity } from './identity.js'
import type { InboxSubscriptions } from './inbox.js'
import type { RelaySecrets } from './relay-secrets.js'
import { type ToolOutcome, toolError, toolResult } from './tool-result.js'

/** What every tool handler works with. */
export interface ToolContext {
  coordinator: Coordinator
  relaySecrets: RelaySecrets | undefined
  logger: Logger
  /** Poked after a send, so subscribed inboxes notice at once. */
  inboxes: InboxSubscriptions
  /** The agent this session acts as (if bound). */
  identity: SessionIdentity
  /** Reads lease ends against this. */
  clock: Clock
  /** Resolves once the coordinator can be used; tool calls wait for it. */
  ready: Promise<unknown>
  /**
   * Resolves once the session has started (its agent registered, its channel listening), or at once
   * before the client is initialized. Tool calls wait for it, so mail sent after any call returns is
   * announced. Never rejects (a failed start is logged).
   */
  started?: () => Promise<void>
  /** Where comm_relay_gen_secret writes new secrets (default: a fresh private temp folder). */
  secretOutputDir?: string | undefined
  /** Longest a single long wait holds a call, in ms (default 50 000). */
  callWaitCapMs?: number | undefined
}

/** The per-request extras the SDK hands a tool (abort signal, progress token, notifications). */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

/**
 * Wraps a tool's logic: its outcome becomes text plus `structuredContent`, anything it throws becomes a
 * tool error the model can act on (never a crash, never a protocol error).
 */
export function handler<A>(
  name: string,
  context: ToolContext,
  run: (args: A, extra: ToolExtra) => Promise<ToolOutcome<Record<string, unknown>>>,
): (args: A, extra: ToolExtra) => Promise<CallToolResult> {
  return async (args, extra) => {
    try {
      return toolResult(await run(args, extra))
    } catch (error) {
      return toolError(error, name, context.logger)
    }
  }
}

/**
 * Tool annotations by behaviour. None of the tools reach outside the agent-comm spool and registry
 * (`openWorldHint: false`); the relay tools write only the relay's secret file.
 */
export const Behaviour = {
  /** Only reads. */
  reads: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  /** Adds or updates; calling again with the same arguments changes nothing more. */
  upserts: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  /** Adds something new on every call (a message, a lease). */
  adds: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  /** Changes or removes existing state, and a repeat does something different or fails. */
  changes: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  /** Removes data; repeating it removes nothing more. */
  removes: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
} as const satisfies Record<string, ToolAnnotations>
