import {
  type AgentCommError,
  ErrorCode,
  errorMessage,
  isAgentCommError,
  type Logger,
  type ValidationError,
} from '@agent-comm/protocol'
import { safeBlock } from '@agent-comm/protocol/terminal-text'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

/** What a tool handler produces: text for the model to read and the same facts as structured data. */
export interface ToolOutcome<T extends Record<string, unknown>> {
  text: string
  data: T
}

/**
 * A successful tool result: readable text plus `structuredContent` matching the tool's output schema.
 *
 * Clients print the text in a terminal, so it leaves with every control character shown escaped
 * (`safeBlock`; fields were already escaped where they were written, this catches any text that was not).
 * `structuredContent` stays exact: it is the data itself (a message is a MessageV2, checked against the
 * tool's output schema, whose length limits an escaped copy could break), the model acts on its exact
 * values, and a client that shows it shows it as JSON, which escapes ESC, BEL, CR and the other C0 controls.
 */
export function toolResult<T extends Record<string, unknown>>(outcome: ToolOutcome<T>): CallToolResult {
  return { content: [{ type: 'text', text: safeBlock(outcome.text) }], structuredContent: outcome.data }
}

/**
 * What the model should do about an agent-comm error, in terms of the MCP tools rather than the CLI
 * commands the library's own hints name. Codes not listed keep the error's hint.
 */
function toolHint(error: AgentCommError): string | undefined {
  const details = error.details
  switch (error.code) {
    case ErrorCode.AGENT_NOT_FOUND: {
      const agent = typeof details.agentId === 'string' ? details.agentId : '<agent id>'
      return `Register it first with comm_register_agent (agent_id: '${agent}', capabilities: [...]), or find the right id with comm_discover_agents.`
    }
    case ErrorCode.MESSAGE_NOT_FOUND:
      return 'Check the id (comm_search lists messages); expired and cleaned-up messages are gone.'
    case ErrorCode.DELIVERY_NOT_FOUND:
      return typeof details.messageId === 'string'
        ? `See who it was delivered to with comm_message_status (message_id: '${details.messageId}').`
        : 'See who it was delivered to with comm_message_status.'
    case ErrorCode.LEASE_LOST:
      return 'Another consumer now owns it: do not act on it again. Poll with comm_poll for new work; use a longer lease_seconds for slow work.'
    case ErrorCode.INVALID_STATE:
      if (details.reason === 'WRONG_RECEIPT') {
        return `Pass the receipt comm_poll returned with attempt ${String(details.attempt)} of this message (receipts of earlier claims are stale); if that claim was yours, the lease is still yours.`
      }
      if (error.message.includes('is not leased by this agent')) {
        return 'Claim it first with comm_poll, or see its state with comm_message_status.'
      }
      return error.hint
    case ErrorCode.VALIDATION:
      return 'Fix the arguments named above and call the tool again.'
    default:
      return error.hint
  }
}

/** Library field paths and the tool parameters they come from, so an error names what the model passed. */
const PARAMETER_OF: Record<string, string> = {
  agentId: 'agent_id',
  fromAgent: 'from_agent',
  toAgent: 'to_agent',
  'routing.replyTo': 'reply_to',
  'routing.conversationId': 'conversation_id',
  'routing.ttlHours': 'ttl_hours',
  'payload.type': 'payload_type',
  'payload.data': 'payload_data',
  relayUrl: 'relay_url',
  inboxDir: 'inbox_dir',
  leaseSeconds: 'lease_seconds',
  waitMs: 'wait_seconds',
  delaySeconds: 'delay_seconds',
}

/**
 * The tool parameter a library field path comes from. Own keys only: a path is what the caller sent, and
 * `__proto__` or `constructor` must name themselves, not Object.prototype's members.
 */
function parameterOf(path: string): string {
  return Object.hasOwn(PARAMETER_OF, path) ? PARAMETER_OF[path]! : path
}

function isValidationError(error: AgentCommError): error is ValidationError {
  return error.code === ErrorCode.VALIDATION && 'issues' in error && Array.isArray(error.issues)
}

/** "Invalid arguments: to_agent: must be …; body: …", naming tool parameters instead of library fields. */
function describeIssues(error: ValidationError): string {
  if (error.issues.length === 0) return error.message
  const what = /^Invalid ([^:]+):/.exec(error.message)?.[1] ?? 'arguments'
  const issues = error.issues.map((issue) =>
    issue.path === '(root)' ? issue.message : `${parameterOf(issue.path)}: ${issue.message}`,
  )
  return `Invalid ${what}: ${[...new Set(issues)].join('; ')}`
}

/**
 * Turns anything a handler threw into an MCP tool error (`isError: true`) the model can act on: the
 * agent-comm code, what happened and what to do next. Unexpected errors are logged, not thrown: a bad call
 * never takes the server down.
 */
export function toolError(error: unknown, tool: string, logger: Logger): CallToolResult {
  if (isAgentCommError(error)) {
    const hint = toolHint(error)
    const message = isValidationError(error) ? describeIssues(error) : error.message
    return {
      isError: true,
      content: [
        {
          type: 'text',
          text: safeBlock(`${error.code}: ${message}${hint === undefined ? '' : `\n${hint}`}`),
        },
      ],
      _meta: { 'agent-comm/error': { code: error.code, hint } },
    }
  }
  const message = errorMessage(error)
  logger.error({ tool, error: message }, 'tool failed unexpectedly')
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: safeBlock(`INTERNAL: ${tool} failed: ${message}\nRetry once; if it fails again, report it.`),
      },
    ],
  }
}
