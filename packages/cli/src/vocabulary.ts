// Flag choices that mirror the protocol's lists. They are repeated here, not imported, because the
// protocol module pulls in zod and every command file is loaded to build `--help` and to start a command;
// test/vocabulary.test.ts checks they match the protocol.

/** Priorities `send --priority` accepts: the protocol's, plus the Python original's `urgent`. */
export const PRIORITY_INPUTS = ['critical', 'high', 'normal', 'low', 'urgent'] as const

/** Payload kinds (the protocol's PAYLOAD_TYPES). */
export const PAYLOAD_TYPES = [
  'text',
  'task_assignment',
  'task_result',
  'context_share',
  'status_request',
  'status_response',
  'capability_query',
  'capability_response',
  'broadcast',
  'approval_request',
  'approval_response',
] as const

/** Agent presence states (the protocol's AGENT_STATUSES). */
export const AGENT_STATUSES = ['active', 'inactive', 'offline'] as const

/** Transports an agent can be reached by (the protocol's TRANSPORT_KINDS). */
export const TRANSPORT_KINDS = ['sqlite', 'http', 'file'] as const
