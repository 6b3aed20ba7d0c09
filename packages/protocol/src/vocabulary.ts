// The protocol's word lists, free of zod so that a command-line tool can offer them as flag choices
// without loading a schema library (`@agent-comm/protocol/vocabulary`). The schemas are built from these.

/** Priorities from most to least urgent. Claims hand out `critical` first (the Python original sorted it last). */
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const

/** Priorities accepted as input: the canonical ones plus the Python original's `urgent`, an alias of `critical`. */
export const PRIORITY_INPUTS = [...PRIORITIES, 'urgent'] as const

/** The kinds of typed payload a message can carry. */
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

/** How an agent is reached. */
export const TRANSPORT_KINDS = ['sqlite', 'http', 'file'] as const

/** Presence of an agent, derived from when it was last seen. */
export const AGENT_STATUSES = ['active', 'inactive', 'offline'] as const

// Log levels from most to least verbose, plus `silent`, and how a setting names one (defined beside the
// Logger, which is zod-free too).
export { DEFAULT_LOG_LEVEL, LOG_LEVELS, readLogLevel } from './logger.js'
