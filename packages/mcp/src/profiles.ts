// Tool profiles: which tools a session offers, from `--tools` / `AGENT_COMM_MCP_TOOLS`. Fewer tools is
// fewer tokens in every prompt; an assistant that only talks to others needs the core set.
import { ValidationError } from '@agent-comm/protocol'

/**
 * The named profiles. `core` is what an assistant needs to talk with others; `messaging` adds looking
 * around (agents, threads, search); `admin` is the operator's set. Names a later version adds to the
 * messaging tools (`comm_request`, `comm_await_reply`) are listed so profiles pick them up.
 */
export const TOOL_PROFILES = {
  core: [
    'comm_start_session',
    'comm_send',
    'comm_reply',
    'comm_request',
    'comm_await_reply',
    'comm_poll',
    'comm_ack',
    'comm_nack',
    'comm_message_status',
    'comm_get_conversation',
  ],
  messaging: [
    'comm_start_session',
    'comm_register_agent',
    'comm_discover_agents',
    'comm_heartbeat',
    'comm_send',
    'comm_reply',
    'comm_request',
    'comm_await_reply',
    'comm_poll',
    'comm_ack',
    'comm_nack',
    'comm_message_status',
    'comm_get_conversation',
    'comm_list_conversations',
    'comm_search',
  ],
  admin: [
    'comm_start_session',
    'comm_register_agent',
    'comm_discover_agents',
    'comm_deregister',
    'comm_heartbeat',
    'comm_message_status',
    'comm_spool_stats',
    'comm_cleanup',
    'comm_relay_gen_secret',
    'comm_relay_list_secrets',
  ],
} as const satisfies Record<string, readonly string[]>

/** Tools that manage relay secrets: offered only when the server has a relay data folder or database. */
export const RELAY_SECRET_TOOLS = new Set(['comm_relay_gen_secret', 'comm_relay_list_secrets'])

/**
 * Which tools a `--tools` value selects: `all` (default), a profile name, or a comma list mixing profile
 * names and tool names (with or without `comm_`). `known` are the tools the server has; an unknown name is
 * a `ValidationError` naming it.
 */
export function selectTools(spec: string | undefined, known: readonly string[]): (name: string) => boolean {
  const value = spec?.trim() === '' || spec === undefined ? 'all' : spec.trim()
  const selected = new Set<string>()
  let all = false
  for (const raw of value.split(',')) {
    const item = raw.trim()
    if (item === '') continue
    if (item === 'all') {
      // Every tool the server registers, including ones newer than this list.
      all = true
      continue
    }
    const profile = (TOOL_PROFILES as Record<string, readonly string[]>)[item]
    if (profile !== undefined) {
      for (const name of profile) selected.add(name)
      continue
    }
    const name = item.startsWith('comm_') ? item : `comm_${item}`
    if (!known.includes(name)) {
      throw new ValidationError(`Invalid --tools: '${item}' is neither a profile nor a tool`, [
        {
          path: 'tools',
          message: `use all, ${Object.keys(TOOL_PROFILES).join(', ')} or tool names (${known.join(', ')})`,
        },
      ])
    }
    selected.add(name)
  }
  return (name) => all || selected.has(name)
}
