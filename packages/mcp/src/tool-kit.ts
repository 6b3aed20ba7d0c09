import type { Coordinator } from '@agent-comm/coordinator'
import type { A2ACleanupTarget } from '@agent-comm/coordinator/a2a-cleanup'
import type { Clock, Logger } from '@agent-comm/protocol'
import type { McpServer, RegisteredTool, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { ShapeOutput, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js'
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
  /** The database whose finished A2A tasks comm_cleanup removes too (see `McpServerOptions.a2aTasks`). */
  a2aTasks?: A2ACleanupTarget | undefined
  /** Longest a single long wait holds a call, in ms (default 50 000). */
  callWaitCapMs?: number | undefined
}

/** The per-request extras the SDK hands a tool (abort signal, progress token, notifications). */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

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

/** How a tool behaves: one of {@link Behaviour}, which becomes its annotations. */
export type ToolBehaviour = (typeof Behaviour)[keyof typeof Behaviour]

/**
 * The parameter naming the agent a tool acts as, or on: a session bound to an agent (`--agent`) fills it in
 * and refuses any other agent with `FORBIDDEN` (see `SessionIdentity.actingAs`). `registered` also refuses
 * an unregistered agent; `derived` lets an unbound session leave it out for the library to derive.
 */
export interface ActingParameter {
  parameter: 'from_agent' | 'agent_id'
  registered: boolean
  derived?: boolean
}

/** What `tools/list` says about a tool, with its behaviour in place of annotations. */
export interface ToolSpec<Input extends ZodRawShapeCompat, Output extends ZodRawShapeCompat> {
  /** Shown to people; also the annotations' title. */
  title: string
  description: string
  inputSchema: Input
  outputSchema: Output
  behaviour: ToolBehaviour
  /**
   * The agent the tool acts as or on, or `null` for none. Required, so that no tool acting for an agent
   * can be added without a bound session's check (the tool gate applies it).
   */
  actsAs: ActingParameter | null
}

/** A tool's logic: its arguments as parsed by its input schema, and the outcome to report. */
export type ToolRun<Input extends ZodRawShapeCompat> = (
  args: ShapeOutput<Input>,
  extra: ToolExtra,
) => Promise<ToolOutcome<Record<string, unknown>>>

/**
 * Registers tool `name` on `server`: the title also titles its annotations, which its behaviour fills in.
 * `run`'s outcome becomes text plus `structuredContent`, and anything it throws becomes a tool error the
 * model can act on (never a crash, never a protocol error).
 */
export function registerTool<Input extends ZodRawShapeCompat, Output extends ZodRawShapeCompat>(
  server: McpServer,
  context: ToolContext,
  name: string,
  { title, description, inputSchema, outputSchema, behaviour, actsAs }: ToolSpec<Input, Output>,
  run: ToolRun<Input>,
): RegisteredTool {
  const callback = async (args: ShapeOutput<Input>, extra: ToolExtra): Promise<CallToolResult> => {
    try {
      return toolResult(await run(args, extra))
    } catch (error) {
      return toolError(error, name, context.logger)
    }
  }
  // ToolCallback<Input> is a conditional type TypeScript cannot resolve while Input is generic; for any
  // shape it is exactly the type of `callback`. `actsAs` is for the tool gate, which takes it out.
  const config = { title, description, inputSchema, outputSchema, annotations: { title, ...behaviour } }
  return server.registerTool(name, { ...config, actsAs } as typeof config, callback as ToolCallback<Input>)
}
